"""Self-service on one's own account: password reset and change, profile, and sessions.

These rules act on an account, not on an organization. Every transaction that issues, uses
or cancels an account's mailed links, or changes its password or address, first locks the
account row, so two such requests for one account take turns. The email change, which must
also agree with invitations, is in `resolvers.email_change`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from console_users.clock import utcnow
from console_users.settings import Settings
from mailer.outbox import enqueue
from mailer.render import TIME_FORMAT
from models import Account, AccountToken, AccountTokenPurpose, Session
from resolvers.actor import Actor, lock_account
from resolvers.credentials import hash_password, hash_token, new_token, verify_password
from resolvers.limits import limit_password_check
from resolvers.errors import ErrorCode, UserFacingError
from resolvers.rate_limits import Limit, consume
from resolvers.sessions import SignedIn, latest_membership, open_session
from resolvers.validation import check_new_password, check_password_size, clean_name, id_or_none, normalize_email

logger = logging.getLogger(__name__)

EMAIL_FIELD = ("email",)
TOKEN_FIELD = ("token",)
PASSWORD_FIELD = ("password",)
CURRENT_PASSWORD_FIELD = ("currentPassword",)
NEW_PASSWORD_FIELD = ("newPassword",)
NAME_FIELD = ("name",)
SESSION_ID_FIELD = ("id",)

RESET_INVALID_MESSAGE = (
    "This password reset link is not valid: it was already used, replaced by a newer one, or it expired. "
    "Request a new link from the sign-in page."
)


@dataclass
class PasswordReset:
    account: Account
    # None when the account is no active member of any organization, so there is nothing to
    # sign in to. The new password still holds, for example to accept a later invitation.
    signed_in: SignedIn | None


# Helpers shared with resolvers.email_change.


async def consume_mail_allowance(settings: Settings, action: str, email: str, client_address: str) -> None:
    """Count one request that sends mail, per client IP address and per email address.

    Raise RateLimited when either is over its limit. Callers count before they look the
    address up, so the response does not depend on whether the address has an account.
    """
    window = settings.account_mail_window_seconds
    await consume(action, f"client {client_address}", Limit(settings.account_mail_requests_per_client, window))
    await consume(action, f"address {email}", Limit(settings.account_mail_requests_per_address, window))


async def issue_link_token(
    connection: BaseDBAsyncClient,
    account: Account,
    purpose: AccountTokenPurpose,
    ttl_seconds: int,
    new_email: str | None = None,
) -> tuple[str, datetime]:
    """Replace the account's earlier links of this purpose with a new one; return its token and expiry.

    The caller holds the account lock, so two requests cannot both leave a live link.
    """
    await AccountToken.filter(account_id=account.id, purpose=purpose).using_db(connection).delete()
    token = new_token()
    expires_at = utcnow() + timedelta(seconds=ttl_seconds)
    await AccountToken.create(
        using_db=connection,
        account=account,
        purpose=purpose,
        token_hash=hash_token(token),
        new_email=new_email,
        expires_at=expires_at,
    )
    return token, expires_at


async def find_live_token(
    token: str, purpose: AccountTokenPurpose, connection: BaseDBAsyncClient | None = None
) -> AccountToken | None:
    """Return the unused, unexpired link with this token, or None."""
    return (
        await AccountToken.filter(
            token_hash=hash_token(token), purpose=purpose, used_at__isnull=True, expires_at__gt=utcnow()
        )
        .using_db(connection)
        .first()
    )


async def use_link_token(connection: BaseDBAsyncClient, used: AccountToken) -> None:
    """Mark a link used and cancel every other open link of its account."""
    used.used_at = utcnow()
    await used.save(using_db=connection, update_fields=["used_at"])
    await cancel_open_links(connection, used.account_id)  # type: ignore[attr-defined]


async def cancel_open_links(connection: BaseDBAsyncClient, account_id: int) -> None:
    # Unused links went to an address, or were asked for with a password, that may no longer be
    # trusted after a password or address change.
    await AccountToken.filter(account_id=account_id, used_at__isnull=True).using_db(connection).delete()


# Password reset by mail.


async def request_password_reset(settings: Settings, raw_email: str, client_address: str) -> None:
    """Mail a reset link when the address has an account; return the same way when it has none."""
    email = normalize_email(raw_email, EMAIL_FIELD)
    await consume_mail_allowance(settings, "password reset", email, client_address)
    # NOTE: the response is identical either way, but an unknown address skips this transaction
    # and so returns a few milliseconds sooner.
    async with in_transaction() as connection:
        account = await Account.filter(email=email).select_for_update(no_key=True).using_db(connection).first()
        if account is None:
            logger.info("Password reset requested for an address without an account")
            return
        token, expires_at = await issue_link_token(
            connection, account, AccountTokenPurpose.PASSWORD_RESET, settings.password_reset_ttl_seconds
        )
        await enqueue(
            connection,
            mail_from=settings.mail_from,
            kind="password_reset",
            to_address=account.email,
            organization=None,
            context={
                "name": account.name,
                "email": account.email,
                "link": f"{settings.console_url}/reset-password?token={token}",
                "expires_at": expires_at.strftime(TIME_FORMAT),
            },
        )
    logger.info("Password reset link issued for account %d", account.id)


async def reset_password(settings: Settings, token: str, password: str, user_agent: str) -> PasswordReset:
    """Set a new password from a reset link, end every session, and open a new one."""
    link = await find_live_token(token, AccountTokenPurpose.PASSWORD_RESET)
    if link is None:
        raise UserFacingError(ErrorCode.PASSWORD_RESET_INVALID, RESET_INVALID_MESSAGE, TOKEN_FIELD)
    check_new_password(password, PASSWORD_FIELD)
    # Hash before taking any lock: argon2 takes a noticeable fraction of a second.
    password_hash = await hash_password(password)

    async with in_transaction() as connection:
        account = await lock_account(connection, link.account_id)  # type: ignore[attr-defined]
        # Re-read under the account lock: a concurrent reset may have used the link, or a newer
        # request, a password change or an email change may have cancelled it.
        link = await find_live_token(token, AccountTokenPurpose.PASSWORD_RESET, connection)
        if link is None:
            raise UserFacingError(ErrorCode.PASSWORD_RESET_INVALID, RESET_INVALID_MESSAGE, TOKEN_FIELD)
        await use_link_token(connection, link)
        account.password_hash = password_hash
        await account.save(using_db=connection, update_fields=["password_hash"])
        ended = await Session.filter(account_id=account.id).using_db(connection).delete()
        signed_in = await _sign_in_latest(connection, account, user_agent)
        await _mail_password_changed(connection, settings, account, by_reset=True)
    logger.info("Password of account %d reset by mail link; %d sessions ended", account.id, ended)
    return PasswordReset(account=account, signed_in=signed_in)


async def _sign_in_latest(connection: BaseDBAsyncClient, account: Account, user_agent: str) -> SignedIn | None:
    """Open a session in the most recently joined organization, as `login` does; None without one."""
    membership = await latest_membership(account.id, connection)
    if membership is None:
        return None
    session, session_token = await open_session(connection, account, membership.organization, user_agent)
    membership.account = account
    return SignedIn(session=session, session_token=session_token, account=account, membership=membership)


async def _mail_password_changed(
    connection: BaseDBAsyncClient, settings: Settings, account: Account, *, by_reset: bool
) -> None:
    await enqueue(
        connection,
        mail_from=settings.mail_from,
        kind="password_changed",
        to_address=account.email,
        organization=None,
        context={
            "name": account.name,
            "email": account.email,
            "by_reset": by_reset,
            "changed_at": utcnow().strftime(TIME_FORMAT),
            "console_url": settings.console_url,
        },
    )


# Changes by the signed-in person.


async def change_password(settings: Settings, actor: Actor, current_password: str, new_password: str) -> Account:
    """Replace the password after checking the current one; end every other session of the account."""
    assert actor.session is not None, "changing the password needs a person's session"
    check_password_size(current_password, CURRENT_PASSWORD_FIELD)
    await limit_password_check(settings, actor.account.email)
    if not await verify_password(actor.account.password_hash, current_password):
        raise UserFacingError(
            ErrorCode.INVALID_CREDENTIALS,
            "The current password is wrong. Enter the password you signed in with.",
            CURRENT_PASSWORD_FIELD,
        )
    check_new_password(new_password, NEW_PASSWORD_FIELD)
    password_hash = await hash_password(new_password)

    async with in_transaction() as connection:
        account = await lock_account(connection, actor.account.id)
        # The password verified above must still be the one in force; a concurrent change or
        # reset replaced it otherwise.
        if account.password_hash != actor.account.password_hash:
            raise UserFacingError(
                ErrorCode.INVALID_CREDENTIALS,
                "The password of this account was changed a moment ago. Enter the current password and try again.",
                CURRENT_PASSWORD_FIELD,
            )
        account.password_hash = password_hash
        await account.save(using_db=connection, update_fields=["password_hash"])
        await cancel_open_links(connection, account.id)
        ended = (
            await Session.filter(account_id=account.id).exclude(id=actor.session.id).using_db(connection).delete()
        )
        await _mail_password_changed(connection, settings, account, by_reset=False)
    logger.info("Password of account %d changed; %d other sessions ended", account.id, ended)
    return account


async def update_profile(actor: Actor, raw_name: str) -> Account:
    """Rename the account. Users lists show the new name at once; activity events keep the old one."""
    if not raw_name.strip():
        raise UserFacingError(ErrorCode.INVALID_INPUT, "The name is empty. Enter the name colleagues know you by.", NAME_FIELD)
    name = clean_name(raw_name, NAME_FIELD)
    await Account.filter(id=actor.account.id).update(name=name)
    actor.account.name = name
    logger.info("Account %d changed its name", actor.account.id)
    return actor.account


# Sessions.


async def list_sessions(settings: Settings, account_id: int) -> list[Session]:
    """Return the account's sessions that have not timed out, most recently used first."""
    now = utcnow()
    return (
        await Session.filter(
            account_id=account_id,
            last_used_at__gt=now - timedelta(seconds=settings.session_idle_timeout_seconds),
            created_at__gt=now - timedelta(seconds=settings.session_lifetime_seconds),
        )
        .order_by("-last_used_at", "-id")
    )


async def revoke_session(actor: Actor, raw_id: str) -> int:
    """End one session of the actor's account at once; return its id."""
    session_id = id_or_none(raw_id)
    ended = 0
    if session_id is not None:
        ended = await Session.filter(id=session_id, account_id=actor.account.id).delete()
    if session_id is None or ended == 0:
        raise UserFacingError(
            ErrorCode.NOT_FOUND,
            f"No session of your account has the id {raw_id[:50]!r}. Use an id from the sessions query.",
            SESSION_ID_FIELD,
        )
    logger.info("Session %d of account %d revoked", session_id, actor.account.id)
    return session_id


async def sign_out_everywhere(actor: Actor) -> int:
    """End every session of the actor's account, this one included; return how many ended."""
    ended = await Session.filter(account_id=actor.account.id).delete()
    logger.info("Account %d signed out everywhere (%d sessions)", actor.account.id, ended)
    return ended
