"""Tortoise models of the Users section. Models hold data only: no mail, no rules."""

from models.account import Account, Session
from models.activity import ActivityAction, ActivityEvent, ActorKind
from models.organization import Membership, MembershipStatus, Organization, Role
from models.outbox import MessageStatus, OutboxMessage
from models.tokens import AccountToken, AccountTokenPurpose, ApiToken, RateLimitCounter

__all__ = [
    "Account",
    "AccountToken",
    "AccountTokenPurpose",
    "ActorKind",
    "ApiToken",
    "RateLimitCounter",
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
