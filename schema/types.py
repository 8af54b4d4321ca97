"""Object types of the API. Each wraps a model and resolves its links through loaders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private
from strawberry.types import Info

from console_users.clock import utcnow
from console_users.context import Context
from models import Account as AccountModel
from models import ApiToken as ApiTokenModel
from models import ActivityEvent as ActivityEventModel
from models import Membership, MembershipStatus
from models import Organization as OrganizationModel
from schema.enums import ActivityAction, EmailDelivery, InvitationState, Role, UserStatus

if TYPE_CHECKING:
    from schema.api_tokens import ApiToken


def _user_status(member: Membership, now: datetime) -> UserStatus:
    if member.status is MembershipStatus.ACTIVE:
        return UserStatus.ACTIVE
    if member.status is MembershipStatus.REMOVED:
        return UserStatus.REMOVED
    expires_at = member.invitation_expires_at
    if expires_at is not None and expires_at <= now:
        return UserStatus.INVITATION_EXPIRED
    return UserStatus.INVITED


def _account_name(member: Membership) -> str | None:
    if member.account_id is None:  # type: ignore[attr-defined]
        return None
    account = member.account
    return account.name if isinstance(account, AccountModel) else None


@strawberry.type(description="A person's access to one organization: a row of the Users list.")
class User:
    model: Private[Membership]
    owner_user_id: Private[int | None]

    @classmethod
    def from_model(cls, member: Membership, owner_user_id: int | None) -> User:
        return cls(model=member, owner_user_id=owner_user_id)

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def email(self) -> str:
        return self.model.email

    @strawberry.field(description="Null until the invitee sets up the account.")
    def name(self) -> str | None:
        return _account_name(self.model)

    @strawberry.field
    def role(self) -> Role:
        return Role.from_stored(self.model.role)

    @strawberry.field
    def status(self) -> UserStatus:
        return _user_status(self.model, utcnow())

    @strawberry.field
    def is_owner(self) -> bool:
        return self.owner_user_id == self.model.id

    @strawberry.field
    async def invited_by(self, info: Info[Context, None]) -> User | None:
        inviter_id = self.model.invited_by_id  # type: ignore[attr-defined]
        if inviter_id is None:
            return None
        inviter = await info.context.members.load(inviter_id)
        return User.from_model(inviter, self.owner_user_id) if inviter is not None else None

    @strawberry.field
    def invited_at(self) -> datetime | None:
        return self.model.invited_at

    @strawberry.field(description="Null once the invitation is accepted.")
    def invitation_expires_at(self) -> datetime | None:
        if self.model.status is not MembershipStatus.INVITED:
            return None
        return self.model.invitation_expires_at

    @strawberry.field(description="Null once the invitation is accepted.")
    async def invitation_email(self, info: Info[Context, None]) -> EmailDelivery | None:
        message_id = self.model.invitation_message_id  # type: ignore[attr-defined]
        if self.model.status is not MembershipStatus.INVITED or message_id is None:
            return None
        status = await info.context.message_statuses.load(message_id)
        return EmailDelivery(status.value) if status is not None else None

    @strawberry.field
    def joined_at(self) -> datetime | None:
        return self.model.joined_at

    @strawberry.field
    def removed_at(self) -> datetime | None:
        return self.model.removed_at


@strawberry.type
class Organization:
    model: Private[OrganizationModel]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    async def owner(self, info: Info[Context, None]) -> User:
        owner = await info.context.members.load(self.model.owner_user_id or 0)
        if owner is None:
            raise LookupError(f"organization {self.model.id} has no owner row {self.model.owner_user_id}")
        return User.from_model(owner, self.model.owner_user_id)


@strawberry.type
class Viewer:
    account: Private[AccountModel]
    member: Private[Membership]
    current_organization: Private[OrganizationModel]
    token: Private[ApiTokenModel | None] = None

    @strawberry.field
    def email(self) -> str:
        return self.account.email

    @strawberry.field
    def name(self) -> str:
        return self.account.name

    @strawberry.field(description="The viewer's own row in the current organization.")
    def user(self) -> User:
        return User.from_model(self.member, self.current_organization.owner_user_id)

    @strawberry.field
    def organization(self) -> Organization:
        return Organization(model=self.current_organization)

    @strawberry.field(
        description="The API token this request was made with; null for a person's session. "
        "The token's creator is the viewer."
    )
    def api_token(self) -> Annotated[ApiToken, strawberry.lazy("schema.api_tokens")] | None:
        from schema.api_tokens import ApiToken

        return ApiToken(model=self.token) if self.token is not None else None

    @strawberry.field(description="Every organization this account may switch to.")
    async def organizations(self) -> list[Organization]:
        members = (
            await Membership.filter(account_id=self.account.id, status=MembershipStatus.ACTIVE)
            .select_related("organization")
            .order_by("organization__name", "organization_id")
        )
        return [Organization(model=member.organization) for member in members]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class UserEdge:
    cursor: str
    node: User


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class ActivityEvent:
    model: Private[ActivityEventModel]
    owner_user_id: Private[int | None]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field
    def action(self) -> ActivityAction:
        return ActivityAction(self.model.action.value)

    @strawberry.field(description="Null when the system or support acted.")
    async def actor(self, info: Info[Context, None]) -> User | None:
        return await self._member(info, self.model.actor_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The actor's name when the event happened; kept after the actor is removed.")
    def actor_name(self) -> str:
        return self.model.actor_name

    @strawberry.field(description="The user the action concerned.")
    async def subject(self, info: Info[Context, None]) -> User | None:
        return await self._member(info, self.model.subject_id)  # type: ignore[attr-defined]

    @strawberry.field(description="One sentence for people, naming actor, subject and change.")
    def description(self) -> str:
        return self.model.description

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    async def _member(self, info: Info[Context, None], member_id: int | None) -> User | None:
        if member_id is None:
            return None
        member = await info.context.members.load(member_id)
        return User.from_model(member, self.owner_user_id) if member is not None else None


@strawberry.type
class ActivityEventEdge:
    cursor: str
    node: ActivityEvent


@strawberry.type
class ActivityEventConnection:
    edges: list[ActivityEventEdge]
    page_info: PageInfo


@strawberry.type(description="What the accept-invitation page shows before the invitee commits.")
class InvitationPreview:
    organization_name: str
    email: str
    role: Role
    invited_by_name: str | None
    expires_at: datetime
    state: InvitationState
    account_exists: bool = strawberry.field(
        description="True when the address already has an account: accept with its password, no name needed."
    )
