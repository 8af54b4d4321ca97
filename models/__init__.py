"""Tortoise models of the Users section. Models hold data only: no mail, no rules."""

from models.account import Account, Session
from models.activity import ActivityAction, ActivityEvent
from models.organization import Membership, MembershipStatus, Organization, Role
from models.outbox import MessageStatus, OutboxMessage

__all__ = [
    "Account",
    "ActivityAction",
    "ActivityEvent",
    "Membership",
    "MembershipStatus",
    "MessageStatus",
    "Organization",
    "OutboxMessage",
    "Role",
    "Session",
]
