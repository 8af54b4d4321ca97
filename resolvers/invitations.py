"""Inviting people, resending and previewing invitations, and accepting them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from console_users.clock import utcnow
from console_users.settings import Settings
from mailer.outbox import cancel_if_queued, enqueue
from mailer.render import TIME_FORMAT
from models import Account, ActivityAction, Membership, MembershipStatus, Organization, Role, Session
from resolvers import activity
from resolvers.actor import Actor, display_name, lock_account, lock_organization, locked_member, recheck_admin, role_label
from resolvers.credentials import hash_password, hash_token, new_token, verify_password
from resolvers.errors import ErrorCode, UserFacingError
from resolvers.limits import check_pending_invitations, limit_invitations, limit_resends
from resolvers.sessions import open_session
from resolvers.validation import check_new_password, check_password_size, clean_name, normalize_email

EMAIL_FIELD = ("input", "email")
TOKEN_FIELD = ("input", "token")
NAME_FIELD = ("input", "name")
PASSWORD_FIELD = ("input", "password")

EXPIRED_LINK_MESSAGE = "This invitation expired. Ask an Admin of the organization to resend it."
INVALID_LINK_MESSAGE = "This invitation link is not valid: it was already used, replaced by a newer one, or revoked. Ask an Admin to send a new invitation."


@dataclass
class IssuedInvitation:
    membership: Membership
    # The token in clear text, for the CLI to print. The other copy is the queued mail, whose
    # stored body is redacted once delivery ends.
    token: str


@dataclass
class InvitationPreview:
    organization_name: str
    email: str
    role: Role
    invited_by_name: str | None
    expires_at: datetime
    expired: bool
    account_exists: bool


@dataclass
class AcceptedInvitation:
    membership: Membership
    session: Session
    session_token: str


def is_expired(membership: Membership, now: datetime | None = None) -> bool:
    expires_at = membership.invitation_expires_at
    return expires_at is not None and expires_at <= (now or utcnow())


async def _send_invitation(
    connection: BaseDBAsyncClient,
    settings: Settings,
    membership: Membership,
    organization: Organization,
    inviter_name: str | None,
) -> str:
    """Give the membership a fresh token and expiry, queue the mail, and return the token."""
    # A mail with the previous link that has not gone out yet would arrive already dead.
    await cancel_if_queued(connection, membership.invitation_message_id, "a newer invitation replaced it")  # type: ignore[attr-defined]
    token = new_token()
    now = utcnow()
    membership.invitation_token_hash = hash_token(token)
    membership.invited_at = now
    membership.invitation_expires_at = now + timedelta(seconds=settings.invitation_ttl_seconds)
    message = await enqueue(
        connection,
        mail_from=settings.mail_from,
        kind="invitation",
        to_address=membership.email,
        organization=organization,
        context={
            "organization_name": organization.name,
            "inviter_name": inviter_name,
            "role_label": role_label(membership.role),
            "link": f"{settings.console_url}/accept-invitation?token={token}",
            "expires_at": membership.invitation_expires_at.strftime(TIME_FORMAT),
        },
    )
    membership.invitation_message = message
    await membership.save(using_db=connection)
    return token


async def invite_into(
    connection: BaseDBAsyncClient,
    settings: Settings,
    organization: Organization,
    *,
    email: str,
    role: Role,
    author: activity.Author,
    inviter_name: str | None,
) -> IssuedInvitation:
    """Invite an address into a locked organization, reusing the row of an earlier invitation.

    `inviter_name` is the person the mail names; None for an invitation by the system.
    """
    inviter = author.member
    membership = (
        await Membership.filter(organization_id=organization.id, email=email)
        .select_for_update()
        .using_db(connection)
        .first()
    )
    if membership is not None:
        if membership.status is MembershipStatus.ACTIVE:
            raise UserFacingError(ErrorCode.ALREADY_MEMBER, f"{email} is already a member of {organization.name}.", EMAIL_FIELD)
        if membership.status is MembershipStatus.INVITED and not is_expired(membership):
            raise UserFacingError(
                ErrorCode.ALREADY_INVITED,
                f"{email} already has a pending invitation. Resend it instead to send a new link.",
                EMAIL_FIELD,
            )
        # An expired invitation or a removed user: the same row keeps its history connected.
        membership.role = role
        membership.status = MembershipStatus.INVITED
        membership.invited_by = inviter  # type: ignore[assignment]
        membership.joined_at = None
        membership.removed_at = None
    else:
        membership = Membership(
            organization=organization,
            email=email,
            role=role,
            status=MembershipStatus.INVITED,
            invited_by=inviter,
        )
    token = await _send_invitation(connection, settings, membership, organization, inviter_name)
    await activity.record(
        connection,
        organization=organization,
        action=ActivityAction.USER_INVITED,
        author=author,
        subject=membership,
        description=f"{author.name} invited {email} as {role_label(role)}.",
        details={"email": email, "role": role.value},
    )
    return IssuedInvitation(membership=membership, token=token)


async def invite_user(settings: Settings, actor: Actor, raw_email: str, role: Role) -> IssuedInvitation:
    email = normalize_email(raw_email, EMAIL_FIELD)
    await limit_invitations(settings, actor.organization.id)
    async with in_transaction() as connection:
        organization = await lock_organization(connection, actor.organization.id)
        await recheck_admin(connection, actor)
        await check_pending_invitations(connection, settings, organization)
        return await invite_into(
            connection, settings, organization,
            email=email, role=role, author=actor.author, inviter_name=actor.account.name,
        )


async def resend_invitation(settings: Settings, actor: Actor, user_id: int) -> IssuedInvitation:
    """Replace the token (the old link dies at once), restart the expiry and mail the new link."""
    await limit_resends(settings, user_id)
    async with in_transaction() as connection:
        organization = await lock_organization(connection, actor.organization.id)
        await recheck_admin(connection, actor)
        membership = await locked_member(connection, organization, user_id)
        if membership.status is not MembershipStatus.INVITED:
            raise UserFacingError(
                ErrorCode.NOT_INVITED,
                f"{membership.email} has no invitation to resend because the user is {membership.status.value}.",
                ("userId",),
            )
        token = await _send_invitation(connection, settings, membership, organization, actor.account.name)
        await activity.record(
            connection,
            organization=organization,
            action=ActivityAction.INVITATION_RESENT,
            author=actor.author,
            subject=membership,
            description=f"{actor.author.name} resent the invitation to {membership.email}.",
        )
        return IssuedInvitation(membership=membership, token=token)


async def preview_invitation(token: str) -> InvitationPreview | None:
    """Describe a pending or expired invitation without consuming it; None when the token is dead."""
    membership = (
        await Membership.filter(invitation_token_hash=hash_token(token), status=MembershipStatus.INVITED)
        .select_related("organization", "invited_by__account")
        .first()
    )
    if membership is None or membership.invitation_expires_at is None:
        return None
    inviter = membership.invited_by
    return InvitationPreview(
        organization_name=membership.organization.name,
        email=membership.email,
        role=membership.role,
        invited_by_name=display_name(inviter) if inviter is not None else None,
        expires_at=membership.invitation_expires_at,
        expired=is_expired(membership),
        account_exists=await Account.exists(email=membership.email),
    )


async def accept_invitation(token: str, name: str | None, password: str, user_agent: str) -> AcceptedInvitation:
    """Turn an invitation into an ACTIVE membership and open a session for it."""
    token_hash = hash_token(token)
    membership = await Membership.filter(invitation_token_hash=token_hash, status=MembershipStatus.INVITED).first()
    if membership is None:
        raise UserFacingError(ErrorCode.INVITATION_INVALID, INVALID_LINK_MESSAGE, TOKEN_FIELD)
    if is_expired(membership):
        raise UserFacingError(
            ErrorCode.INVITATION_EXPIRED,
            EXPIRED_LINK_MESSAGE,
            TOKEN_FIELD,
        )

    # Hash or verify before taking any lock: argon2 takes a noticeable fraction of a second.
    account = await Account.get_or_none(email=membership.email)
    new_password_hash: str | None = None
    account_name: str | None = None
    if account is not None:
        check_password_size(password, PASSWORD_FIELD)
        if not await verify_password(account.password_hash, password):
            raise UserFacingError(
                ErrorCode.INVALID_CREDENTIALS,
                f"An account for {membership.email} already exists; enter its password to accept.",
                PASSWORD_FIELD,
            )
    else:
        account_name = clean_name(name, NAME_FIELD)
        check_new_password(password, PASSWORD_FIELD)
        new_password_hash = await hash_password(password)

    try:
        async with in_transaction() as connection:
            return await _activate(connection, token_hash, account, account_name, new_password_hash, user_agent)
    except IntegrityError:
        # Another invitation to the same address created the account a moment ago.
        raise UserFacingError(
            ErrorCode.INVALID_CREDENTIALS,
            f"An account for {membership.email} was just created; accept again with that account's password.",
            PASSWORD_FIELD,
        ) from None


async def _activate(
    connection: BaseDBAsyncClient,
    token_hash: str,
    account: Account | None,
    account_name: str | None,
    new_password_hash: str | None,
    user_agent: str,
) -> AcceptedInvitation:
    if account is not None:
        account = await lock_account(connection, account.id)
    # Re-read under the row lock: a concurrent accept, resend or revoke may have won.
    membership = (
        await Membership.filter(invitation_token_hash=token_hash, status=MembershipStatus.INVITED)
        .select_for_update()
        .using_db(connection)
        .first()
    )
    if membership is None:
        raise UserFacingError(ErrorCode.INVITATION_INVALID, INVALID_LINK_MESSAGE, TOKEN_FIELD)
    if is_expired(membership):
        raise UserFacingError(ErrorCode.INVITATION_EXPIRED, EXPIRED_LINK_MESSAGE, TOKEN_FIELD)
    if account is not None and account.email != membership.email:
        # A confirmed email change moved the account off the invited address after it was read.
        raise UserFacingError(
            ErrorCode.INVALID_CREDENTIALS,
            f"The account for {membership.email} changed its address a moment ago; accept again to create a new account for {membership.email}.",
            PASSWORD_FIELD,
        )
    if account is None:
        assert account_name is not None and new_password_hash is not None
        account = await Account.create(
            using_db=connection, email=membership.email, name=account_name, password_hash=new_password_hash
        )

    now = utcnow()
    membership.account = account
    membership.status = MembershipStatus.ACTIVE
    membership.joined_at = now
    membership.invitation_token_hash = None
    membership.invitation_expires_at = None
    await membership.save(using_db=connection)
    organization = await Organization.filter(id=membership.organization_id).using_db(connection).get()  # type: ignore[attr-defined]
    await activity.record(
        connection,
        organization=organization,
        action=ActivityAction.INVITATION_ACCEPTED,
        author=activity.member_author(membership, account.name),
        subject=membership,
        description=f"{account.name} ({membership.email}) accepted the invitation and joined as {role_label(membership.role)}.",
    )
    session, session_token = await open_session(connection, account, organization, user_agent)
    return AcceptedInvitation(membership=membership, session=session, session_token=session_token)
