"""GraphQL enums, with converters to and from the stored values."""

from __future__ import annotations

import enum

import strawberry

from models import ActivityAction as StoredAction
from models import MessageStatus
from models import Role as StoredRole
from resolvers.errors import ErrorCode


@strawberry.enum(description="What a user may do in an organization.")
class Role(enum.Enum):
    ADMIN = strawberry.enum_value(StoredRole.ADMIN.value, description="Everything: users, roles, billing, settings.")
    READ_ONLY = strawberry.enum_value(StoredRole.READ_ONLY.value, description="Reads everything, changes nothing.")

    @classmethod
    def from_stored(cls, role: StoredRole) -> Role:
        return cls(role.value)

    def to_stored(self) -> StoredRole:
        return StoredRole(self.value)


@strawberry.enum
class UserStatus(enum.Enum):
    ACTIVE = strawberry.enum_value("ACTIVE", description="Has an account and can sign in to this organization.")
    INVITED = strawberry.enum_value("INVITED", description="Invited; the invitation has not been accepted and has not expired.")
    INVITATION_EXPIRED = strawberry.enum_value(
        "INVITATION_EXPIRED", description="Invited, but the invitation expired before it was accepted."
    )
    REMOVED = strawberry.enum_value("REMOVED", description="Was removed; kept so that history stays attributed.")


@strawberry.enum(description="State of the newest invitation email.")
class EmailDelivery(enum.Enum):
    QUEUED = MessageStatus.QUEUED.value
    SENT = MessageStatus.SENT.value
    FAILED = MessageStatus.FAILED.value


@strawberry.enum
class ActivityAction(enum.Enum):
    USER_INVITED = StoredAction.USER_INVITED.value
    INVITATION_RESENT = StoredAction.INVITATION_RESENT.value
    INVITATION_ACCEPTED = StoredAction.INVITATION_ACCEPTED.value
    INVITATION_REVOKED = StoredAction.INVITATION_REVOKED.value
    USER_ROLE_CHANGED = StoredAction.USER_ROLE_CHANGED.value
    USER_REMOVED = StoredAction.USER_REMOVED.value
    OWNERSHIP_TRANSFERRED = StoredAction.OWNERSHIP_TRANSFERRED.value
    API_TOKEN_CREATED = StoredAction.API_TOKEN_CREATED.value
    API_TOKEN_REVOKED = StoredAction.API_TOKEN_REVOKED.value


@strawberry.enum
class InvitationState(enum.Enum):
    PENDING = "PENDING"
    EXPIRED = "EXPIRED"


UserErrorCode = strawberry.enum(ErrorCode, name="UserErrorCode")
