"""The activity log: who did what to whom, and when."""

from __future__ import annotations

import enum

from tortoise import fields
from tortoise.models import Model


class ActivityAction(enum.StrEnum):
    USER_INVITED = "user_invited"
    INVITATION_RESENT = "invitation_resent"
    INVITATION_ACCEPTED = "invitation_accepted"
    INVITATION_REVOKED = "invitation_revoked"
    USER_ROLE_CHANGED = "user_role_changed"
    USER_REMOVED = "user_removed"
    OWNERSHIP_TRANSFERRED = "ownership_transferred"
    API_TOKEN_CREATED = "api_token_created"
    API_TOKEN_REVOKED = "api_token_revoked"


class ActorKind(enum.StrEnum):
    """The kind of actor behind an event: a member, an API token acting for its creator, or no person."""

    MEMBER = "member"
    API_TOKEN = "api_token"
    SYSTEM = "system"
    SUPPORT = "support"


class ActivityEvent(Model):
    """One change. Names are copied when the event is written so they survive later edits."""

    id = fields.IntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="activity", on_delete=fields.CASCADE
    )
    action = fields.CharEnumField(ActivityAction, max_length=32)
    # Null when the system or support acted.
    actor = fields.ForeignKeyField(
        "models.Membership", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    actor_name = fields.CharField(max_length=200)
    actor_kind = fields.CharEnumField(ActorKind, max_length=16, default=ActorKind.MEMBER, db_default=ActorKind.MEMBER.value)
    # The token that made the change, when one did; `actor` is then the token's creator.
    api_token = fields.ForeignKeyField("models.ApiToken", related_name=False, null=True, on_delete=fields.SET_NULL)
    subject = fields.ForeignKeyField(
        "models.Membership", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    description = fields.TextField()
    # Action-specific facts, such as the old and new role or a support reason.
    details = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "activity_events"
