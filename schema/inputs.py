"""Input types."""

from __future__ import annotations

import strawberry

from schema.enums import Role, UserStatus


@strawberry.input
class UserFilter:
    status: list[UserStatus] | None = strawberry.field(
        default=None, description="Default: ACTIVE, INVITED and INVITATION_EXPIRED."
    )
    role: Role | None = None
    search: str | None = strawberry.field(
        default=None, description="Case-insensitive match on part of the email or the name."
    )


@strawberry.input
class InviteUserInput:
    email: str
    role: Role


@strawberry.input
class AcceptInvitationInput:
    token: str
    name: str | None = strawberry.field(default=None, description="Required when the address has no account yet.")
    password: str = strawberry.field(description="A new password, or the existing account's password.")
