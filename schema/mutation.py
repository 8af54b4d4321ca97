"""Write fields of the API. Each one runs one rule from `resolvers` and shapes its payload."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry
from strawberry.types import Info

from console_users.context import Context
from models import Account, Membership, Organization as OrganizationModel
from resolvers import invitations, limits, ownership, sessions, users
from resolvers.actor import Actor
from resolvers.errors import AccessDenied, UserFacingError
from resolvers.rate_limits import RateLimited
from resolvers.validation import parse_id
from schema.enums import Role
from schema.errors import ForbiddenError, RateLimitedError
from schema.inputs import AcceptInvitationInput, InviteUserInput
from schema.payloads import (
    AcceptInvitationPayload,
    ChangeUserRolePayload,
    InviteUserPayload,
    LoginPayload,
    RemoveUserPayload,
    ResendInvitationPayload,
    SwitchOrganizationPayload,
    TransferOwnershipPayload,
    UserError,
)
from schema.permissions import ADMIN, OWNER, PERSON
from schema.types import Organization, User, Viewer

T = TypeVar("T")



async def attempt(call: Awaitable[T]) -> tuple[T | None, list[UserError]]:
    """Await a rule; a refusal becomes payload errors, a lost permission or a rate limit a top-level error."""
    try:
        return await call, []
    except UserFacingError as error:
        return None, [UserError.from_exception(error)]
    except AccessDenied as error:
        raise ForbiddenError(str(error)) from error
    except RateLimited as error:
        raise RateLimitedError(str(error), retryAfter=error.retry_after) from error


def signed_in_actor(info: Info[Context, None]) -> Actor:
    actor = info.context.actor
    assert actor is not None, "a permission class must run before this resolver"
    return actor


def viewer_for(account: Account, member: Membership, organization: OrganizationModel) -> Viewer:
    return Viewer(account=account, member=member, current_organization=organization)


def user_for(actor: Actor, member: Membership) -> User:
    return User.from_model(member, actor.organization.owner_user_id)


@strawberry.type
class UsersMutation:
    """Write fields of the Users section."""

    @strawberry.mutation
    async def login(self, info: Info[Context, None], email: str, password: str) -> LoginPayload:
        context = info.context
        signed_in, errors = await attempt(_login(context, email, password))
        if signed_in is None:
            return LoginPayload(errors=errors)
        # A new token at every sign-in; the session the browser had before ends.
        await sessions.end_session(context.session_token)
        context.set_session_cookie(signed_in.session_token)
        return LoginPayload(viewer=viewer_for(signed_in.account, signed_in.membership, signed_in.membership.organization))

    @strawberry.mutation
    async def logout(self, info: Info[Context, None]) -> bool:
        await sessions.end_session(info.context.session_token)
        info.context.clear_session_cookie()
        return True

    @strawberry.mutation
    async def accept_invitation(self, info: Info[Context, None], input: AcceptInvitationInput) -> AcceptInvitationPayload:
        context = info.context
        accepted, errors = await attempt(_accept(context, input))
        if accepted is None:
            return AcceptInvitationPayload(errors=errors)
        await sessions.end_session(context.session_token)
        context.set_session_cookie(accepted.session_token)
        session = accepted.session
        return AcceptInvitationPayload(viewer=viewer_for(session.account, accepted.membership, session.organization))

    @strawberry.mutation(extensions=PERSON)
    async def switch_organization(self, info: Info[Context, None], organization_id: strawberry.ID) -> SwitchOrganizationPayload:
        actor = signed_in_actor(info)
        assert actor.session is not None
        member, errors = await attempt(_switch(actor, organization_id))
        if member is None:
            return SwitchOrganizationPayload(errors=errors)
        return SwitchOrganizationPayload(viewer=viewer_for(actor.account, member, member.organization))

    @strawberry.mutation(extensions=ADMIN)
    async def invite_user(self, info: Info[Context, None], input: InviteUserInput) -> InviteUserPayload:
        actor = signed_in_actor(info)
        issued, errors = await attempt(
            invitations.invite_user(info.context.settings, actor, input.email, input.role.to_stored())
        )
        if issued is None:
            return InviteUserPayload(errors=errors)
        return InviteUserPayload(user=user_for(actor, issued.membership))

    @strawberry.mutation(extensions=ADMIN)
    async def resend_invitation(self, info: Info[Context, None], user_id: strawberry.ID) -> ResendInvitationPayload:
        actor = signed_in_actor(info)
        issued, errors = await attempt(_resend(info.context, actor, user_id))
        if issued is None:
            return ResendInvitationPayload(errors=errors)
        return ResendInvitationPayload(user=user_for(actor, issued.membership))

    @strawberry.mutation(extensions=ADMIN)
    async def change_user_role(self, info: Info[Context, None], user_id: strawberry.ID, role: Role) -> ChangeUserRolePayload:
        actor = signed_in_actor(info)
        member, errors = await attempt(_change_role(actor, user_id, role))
        if member is None:
            return ChangeUserRolePayload(errors=errors)
        return ChangeUserRolePayload(user=user_for(actor, member))

    @strawberry.mutation(extensions=ADMIN)
    async def remove_user(self, info: Info[Context, None], user_id: strawberry.ID) -> RemoveUserPayload:
        actor = signed_in_actor(info)
        member, errors = await attempt(_remove(actor, user_id))
        if member is None:
            return RemoveUserPayload(errors=errors)
        return RemoveUserPayload(user=user_for(actor, member))

    @strawberry.mutation(extensions=OWNER)
    async def transfer_ownership(
        self, info: Info[Context, None], user_id: strawberry.ID, password: str
    ) -> TransferOwnershipPayload:
        actor = signed_in_actor(info)
        organization, errors = await attempt(_transfer(info.context, actor, user_id, password))
        if organization is None:
            return TransferOwnershipPayload(errors=errors)
        return TransferOwnershipPayload(organization=Organization(model=organization))


# The rate limits of signing in and accepting count inside `attempt`, so a refusal becomes RATE_LIMITED.
async def _login(context: Context, email: str, password: str) -> sessions.SignedIn:
    await limits.limit_sign_in(context.settings, email, context.client_address)
    return await sessions.login(email, password, context.user_agent)


async def _accept(context: Context, input: AcceptInvitationInput) -> invitations.AcceptedInvitation:
    await limits.limit_acceptance(context.settings, context.client_address)
    return await invitations.accept_invitation(input.token, input.name, input.password, context.user_agent)


# Each helper parses its id argument inside `attempt`, so a malformed id becomes a payload error.
async def _switch(actor: Actor, raw_id: str) -> Membership:
    return await sessions.switch_organization(actor, parse_id(raw_id, ("organizationId",), "organization"))


async def _resend(context: Context, actor: Actor, raw_id: str) -> invitations.IssuedInvitation:
    return await invitations.resend_invitation(context.settings, actor, parse_id(raw_id, ("userId",), "user"))


async def _change_role(actor: Actor, raw_id: str, role: Role) -> Membership:
    return await users.change_role(actor, parse_id(raw_id, ("userId",), "user"), role.to_stored())


async def _remove(actor: Actor, raw_id: str) -> Membership:
    return await users.remove_user(actor, parse_id(raw_id, ("userId",), "user"))


async def _transfer(context: Context, actor: Actor, raw_id: str, password: str) -> OrganizationModel:
    return await ownership.transfer_by_owner(context.settings, actor, parse_id(raw_id, ("userId",), "user"), password)
