"""Account self-service in the schema: passwords, profile, sessions and the sign-in address.

These fields act on the caller's own account, or on the account a mailed link was sent for, never
on an organization. All but the three that work from a mailed link need a person's session;
API tokens get FORBIDDEN.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Private
from strawberry.types import Info

from console_users.context import Context
from models import Session as SessionModel
from resolvers import account, email_change, sessions
from resolvers.user_agents import describe_client
from schema.mutation import attempt, signed_in_actor, viewer_for
from schema.payloads import UserError
from schema.permissions import PERSON
from schema.types import Viewer



@strawberry.type(name="Session", description="A signed-in browser or other client of the viewer's account.")
class AccountSession:
    model: Private[SessionModel]
    current_session_id: Private[int | None]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field(description="When the person signed in.")
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field(description="Updated at most once a minute.")
    def last_used_at(self) -> datetime:
        return self.model.last_used_at

    @strawberry.field(description='The client, read from its User-Agent header, such as "Firefox on Windows".')
    def client(self) -> str:
        return describe_client(self.model.user_agent)

    @strawberry.field(description="True for the session this request was made with.")
    def is_current(self) -> bool:
        return self.model.id == self.current_session_id


@strawberry.type(
    description="The same response whether or not the address has an account, so that it reveals nothing. "
    "`errors` lists only a malformed address."
)
class RequestPasswordResetPayload:
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ResetPasswordPayload:
    viewer: Viewer | None = strawberry.field(
        default=None,
        description="The new session's viewer. Null on error, and also when the account is no active member "
        "of any organization: the password is then set, but there is nothing to sign in to.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ChangePasswordPayload:
    viewer: Viewer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateProfilePayload:
    viewer: Viewer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RevokeSessionPayload:
    sessions: list[AccountSession] | None = strawberry.field(
        default=None, description="The sessions left, as the sessions query lists them."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RequestEmailChangePayload:
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ConfirmEmailChangePayload:
    email: str | None = strawberry.field(default=None, description="The account's address from now on.")
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _sessions_of(info: Info[Context, None]) -> list[AccountSession]:
    actor = signed_in_actor(info)
    current_id = actor.session.id if actor.session is not None else None
    rows = await account.list_sessions(info.context.settings, actor.account.id)
    return [AccountSession(model=row, current_session_id=current_id) for row in rows]


@strawberry.type
class AccountQuery:
    """Read fields of account self-service."""

    @strawberry.field(extensions=PERSON, description="The account's sessions that have not timed out, most recently used first.")
    async def sessions(self, info: Info[Context, None]) -> list[AccountSession]:
        return await _sessions_of(info)


@strawberry.type
class AccountMutation:
    """Write fields of account self-service."""

    @strawberry.mutation(
        description="Mail a link to {CONSOLE_URL}/reset-password?token=TOKEN when the address has an account. "
        "The answer is the same when it has none. Needs no sign-in."
    )
    async def request_password_reset(self, info: Info[Context, None], email: str) -> RequestPasswordResetPayload:
        context = info.context
        _, errors = await attempt(account.request_password_reset(context.settings, email, context.client_address))
        return RequestPasswordResetPayload(errors=errors)

    @strawberry.mutation(
        description="Set a new password with a mailed reset link. Ends every session of the account and signs "
        "this client in with a new one. Needs no sign-in."
    )
    async def reset_password(self, info: Info[Context, None], token: str, password: str) -> ResetPasswordPayload:
        context = info.context
        reset, errors = await attempt(account.reset_password(context.settings, token, password, context.user_agent))
        if reset is None:
            return ResetPasswordPayload(errors=errors)
        # The session this browser had before ends, as at sign-in; it may belong to another account.
        await sessions.end_session(context.session_token)
        signed_in = reset.signed_in
        if signed_in is None:
            if context.session_token is not None:
                context.clear_session_cookie()
            return ResetPasswordPayload()
        context.set_session_cookie(signed_in.session_token)
        return ResetPasswordPayload(viewer=viewer_for(signed_in.account, signed_in.membership, signed_in.membership.organization))

    @strawberry.mutation(extensions=PERSON, description="Needs the current password. Ends every other session of the account.")
    async def change_password(
        self, info: Info[Context, None], current_password: str, new_password: str
    ) -> ChangePasswordPayload:
        actor = signed_in_actor(info)
        changed, errors = await attempt(
            account.change_password(info.context.settings, actor, current_password, new_password)
        )
        if changed is None:
            return ChangePasswordPayload(errors=errors)
        return ChangePasswordPayload(viewer=viewer_for(changed, actor.membership, actor.organization))

    @strawberry.mutation(
        extensions=PERSON,
        description="Rename the account. Users lists show the new name at once; activity events keep the name "
        "they were written with.",
    )
    async def update_profile(self, info: Info[Context, None], name: str) -> UpdateProfilePayload:
        actor = signed_in_actor(info)
        updated, errors = await attempt(account.update_profile(actor, name))
        if updated is None:
            return UpdateProfilePayload(errors=errors)
        return UpdateProfilePayload(viewer=viewer_for(updated, actor.membership, actor.organization))

    @strawberry.mutation(extensions=PERSON, description="End one session of the account at once; it may be this one.")
    async def revoke_session(self, info: Info[Context, None], id: strawberry.ID) -> RevokeSessionPayload:
        actor = signed_in_actor(info)
        revoked_id, errors = await attempt(account.revoke_session(actor, id))
        if revoked_id is None:
            return RevokeSessionPayload(errors=errors)
        if actor.session is not None and revoked_id == actor.session.id:
            info.context.clear_session_cookie()
        return RevokeSessionPayload(sessions=await _sessions_of(info))

    @strawberry.mutation(
        extensions=PERSON, description="End every session of the account at once, this one included; returns how many ended."
    )
    async def sign_out_everywhere(self, info: Info[Context, None]) -> int:
        ended = await account.sign_out_everywhere(signed_in_actor(info))
        info.context.clear_session_cookie()
        return ended

    @strawberry.mutation(
        extensions=PERSON,
        description="Needs the password. Mails a link to {CONSOLE_URL}/confirm-email-change?token=TOKEN to the new "
        "address and a notice to the current one. Nothing changes until the link is used.",
    )
    async def request_email_change(
        self, info: Info[Context, None], new_email: str, password: str
    ) -> RequestEmailChangePayload:
        context = info.context
        _, errors = await attempt(
            email_change.request_email_change(
                context.settings, signed_in_actor(info), new_email, password, context.client_address
            )
        )
        return RequestEmailChangePayload(errors=errors)

    @strawberry.mutation(
        description="Switch the account, and its users in every organization, to the new address. The token alone "
        "is enough, so the link works on a device without a session. The old address stops working for sign-in "
        "at once; sessions stay signed in."
    )
    async def confirm_email_change(self, info: Info[Context, None], token: str) -> ConfirmEmailChangePayload:
        changed, errors = await attempt(email_change.confirm_email_change(token))
        if changed is None:
            return ConfirmEmailChangePayload(errors=errors)
        return ConfirmEmailChangePayload(email=changed.email)
