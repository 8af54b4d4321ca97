"""Changing the sign-in address of an account, confirmed by a link mailed to the new address.

One address belongs to at most one identity. Memberships carry their account's address and
(organization, email) is unique among memberships, so the new address must be free both among
accounts and in every organization where the account has a membership row, whatever its
status. Inviting takes the organization's lock before it checks the address, so confirming
takes the account's lock and then the lock of each of those organizations, in ascending id
order, before it checks and writes. Accepting an invitation locks the account first too, so
no membership can join the account while its address changes.
"""

from __future__ import annotations

import logging

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from console_users.settings import Settings
from mailer.outbox import enqueue
from models import Account, AccountTokenPurpose, Membership, MembershipStatus
from mailer.render import TIME_FORMAT
from resolvers.account import consume_mail_allowance, find_live_token, issue_link_token, use_link_token
from resolvers.actor import Actor, lock_account, lock_organization
from resolvers.credentials import verify_password
from resolvers.limits import limit_password_check
from resolvers.errors import ErrorCode, UserFacingError
from resolvers.invitations import is_expired
from resolvers.validation import check_password_size, normalize_email

logger = logging.getLogger(__name__)

NEW_EMAIL_FIELD = ("newEmail",)
PASSWORD_FIELD = ("password",)
TOKEN_FIELD = ("token",)

INVALID_LINK_MESSAGE = (
    "This email confirmation link is not valid: it was already used, replaced by a newer request, "
    "cancelled by a password change, or it expired. Request the change again."
)


async def request_email_change(
    settings: Settings, actor: Actor, raw_new_email: str, password: str, client_address: str
) -> None:
    """Mail a confirmation link to the new address and a notice to the current one."""
    new_email = normalize_email(raw_new_email, NEW_EMAIL_FIELD)
    check_password_size(password, PASSWORD_FIELD)
    # Counted before the password check, so that a stolen session cannot guess passwords here.
    await consume_mail_allowance(settings, "email change", new_email, client_address)
    await limit_password_check(settings, actor.account.email)
    if not await verify_password(actor.account.password_hash, password):
        raise UserFacingError(
            ErrorCode.INVALID_CREDENTIALS, "The password is wrong. Enter your own password to confirm.", PASSWORD_FIELD
        )
    if new_email == actor.account.email:
        raise UserFacingError(
            ErrorCode.INVALID_INPUT, f"{new_email} is already the address of your account. Enter a different one.",
            NEW_EMAIL_FIELD,
        )

    async with in_transaction() as connection:
        account = await lock_account(connection, actor.account.id)
        conflict = await find_conflict(connection, account, new_email)
        if conflict is not None:
            raise UserFacingError(ErrorCode.EMAIL_TAKEN, conflict, NEW_EMAIL_FIELD)
        token, expires_at = await issue_link_token(
            connection, account, AccountTokenPurpose.EMAIL_CHANGE, settings.email_change_ttl_seconds, new_email=new_email
        )
        names = {"name": account.name, "old_email": account.email, "new_email": new_email}
        link = {
            "link": f"{settings.console_url}/confirm-email-change?token={token}",
            "expires_at": expires_at.strftime(TIME_FORMAT),
        }
        await enqueue(
            connection, mail_from=settings.mail_from, kind="email_change_confirm", to_address=new_email,
            organization=None, context={**names, **link},
        )
        # The notice to the current address carries no link: only the new mailbox can confirm.
        await enqueue(
            connection, mail_from=settings.mail_from, kind="email_change_notice", to_address=account.email,
            organization=None, context=names,
        )
    logger.info("Email change requested for account %d", account.id)


async def confirm_email_change(token: str) -> Account:
    """Switch the account and all its memberships to the address the link was sent to.

    The token alone is enough, because the link may be opened on a device without a session:
    holding the link proves control of the new mailbox, and asking for it needed the password.
    """
    link = await find_live_token(token, AccountTokenPurpose.EMAIL_CHANGE)
    if link is None:
        raise UserFacingError(ErrorCode.EMAIL_CHANGE_INVALID, INVALID_LINK_MESSAGE, TOKEN_FIELD)
    try:
        async with in_transaction() as connection:
            account = await _switch_address(connection, token, link.account_id)  # type: ignore[attr-defined]
    except IntegrityError:
        # A unique constraint caught what the checks could not see: another account or
        # membership took the address in a transaction that committed meanwhile.
        raise UserFacingError(
            ErrorCode.EMAIL_TAKEN,
            "The new address was taken by another account or invitation a moment ago. Choose another address.",
            TOKEN_FIELD,
        ) from None
    logger.info("Email address of account %d changed", account.id)
    return account


async def _switch_address(connection: BaseDBAsyncClient, token: str, account_id: int) -> Account:
    account = await lock_account(connection, account_id)
    # Under the account lock no membership can join the account, so this list stays complete.
    organization_ids = sorted(
        set(await Membership.filter(account_id=account.id).using_db(connection).values_list("organization_id", flat=True))
    )
    for organization_id in organization_ids:
        await lock_organization(connection, organization_id)

    # Re-read under the locks: a concurrent confirmation, a newer request or a password change
    # may have used or cancelled the link.
    link = await find_live_token(token, AccountTokenPurpose.EMAIL_CHANGE, connection)
    if link is None or link.account_id != account.id or link.new_email is None:  # type: ignore[attr-defined]
        raise UserFacingError(ErrorCode.EMAIL_CHANGE_INVALID, INVALID_LINK_MESSAGE, TOKEN_FIELD)
    new_email = link.new_email
    conflict = await find_conflict(connection, account, new_email, organization_ids)
    if conflict is not None:
        raise UserFacingError(ErrorCode.EMAIL_TAKEN, conflict, TOKEN_FIELD)

    await Membership.filter(account_id=account.id).using_db(connection).update(email=new_email)
    account.email = new_email
    await account.save(using_db=connection, update_fields=["email"])
    await use_link_token(connection, link)
    return account


async def find_conflict(
    connection: BaseDBAsyncClient, account: Account, new_email: str, organization_ids: list[int] | None = None
) -> str | None:
    """Return why `new_email` cannot become the account's address, or None when it is free."""
    if await Account.filter(email=new_email).exclude(id=account.id).using_db(connection).exists():
        return f"{new_email} is the address of another account. Choose another address."

    if organization_ids is None:
        organization_ids = list(
            await Membership.filter(account_id=account.id).using_db(connection).values_list("organization_id", flat=True)
        )
    if not organization_ids:
        return None
    # The account's own rows carry its current address, never `new_email`, so every match is someone else's.
    conflicting = (
        await Membership.filter(organization_id__in=organization_ids, email=new_email)
        .select_related("organization")
        .using_db(connection)
        .order_by("organization_id")
        .first()
    )
    if conflicting is None:
        return None

    active_in = set(
        await Membership.filter(account_id=account.id, status=MembershipStatus.ACTIVE)
        .using_db(connection)
        .values_list("organization_id", flat=True)
    )
    organization = conflicting.organization
    if conflicting.status is MembershipStatus.INVITED and not is_expired(conflicting) and organization.id in active_in:
        return f"{new_email} is invited to {organization.name}, so it cannot become your address too. Choose another address."
    # NOTE: an expired or revoked invitation keeps its row, and with it the address, in that
    # organization for good. Freeing the address would need a change to the memberships table.
    # The message names no organization, because the account may no longer be a member of it.
    return f"{new_email} is already used in an organization your account belongs or belonged to. Choose another address."
