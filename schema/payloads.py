"""Mutation payloads: the result on success, or UserErrors a person can act on."""

from __future__ import annotations

import strawberry

from resolvers.errors import ErrorCode, UserFacingError
from schema.enums import UserErrorCode
from schema.types import Organization, User, Viewer


@strawberry.type
class UserError:
    code: UserErrorCode  # type: ignore[valid-type]
    message: str
    field: list[str] | None = strawberry.field(
        description='Path to the input at fault, e.g. ["input", "email"]; null when no single input is at fault.'
    )

    @classmethod
    def from_exception(cls, error: UserFacingError) -> UserError:
        return cls(code=ErrorCode(error.code), message=error.message, field=error.field)


@strawberry.type
class LoginPayload:
    viewer: Viewer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AcceptInvitationPayload:
    viewer: Viewer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SwitchOrganizationPayload:
    viewer: Viewer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InviteUserPayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ResendInvitationPayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ChangeUserRolePayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RemoveUserPayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TransferOwnershipPayload:
    organization: Organization | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
