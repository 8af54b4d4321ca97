"""Signing in and out, finding the actor behind a session token, switching organizations."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from console_users.clock import utcnow
from console_users.settings import Settings
from models import Account, Membership, MembershipStatus, Organization, Session
from resolvers.actor import Actor
from resolvers.credentials import hash_password, hash_token, needs_rehash, new_token, verify_password
from resolvers.errors import ErrorCode, UserFacingError
from resolvers.validation import check_password_size, normalize_email

logger = logging.getLogger(__name__)

# last_used_at is written at most this often per session, to keep reads cheap.
TOUCH_INTERVAL = timedelta(seconds=60)
MAX_USER_AGENT_LENGTH = 500
INVALID_CREDENTIALS_MESSAGE = "The email address or the password is wrong. Check both and try again."


@dataclass
class SignedIn:
    session: Session
    session_token: str
    account: Account
    membership: Membership


async def open_session(
    connection: BaseDBAsyncClient, account: Account, organization: Organization, user_agent: str
) -> tuple[Session, str]:
    token = new_token()
    session = await Session.create(
        using_db=connection,
        token_hash=hash_token(token),
        account=account,
        organization=organization,
        last_used_at=utcnow(),
        user_agent=user_agent[:MAX_USER_AGENT_LENGTH],
    )
    return session, token


async def authenticate(settings: Settings, token: str | None) -> Actor | None:
    """Return the actor for a session token, or None when it is unknown, expired or without access.

    The role comes from the database on every request, so a role change takes effect from the
    very next request.
    """
    if not token:
        return None
    session = await Session.filter(token_hash=hash_token(token)).select_related("account", "organization").first()
    if session is None:
        return None
    now = utcnow()
    idle_limit = session.last_used_at + timedelta(seconds=settings.session_idle_timeout_seconds)
    lifetime_limit = session.created_at + timedelta(seconds=settings.session_lifetime_seconds)
    if now >= idle_limit or now >= lifetime_limit:
        await Session.filter(id=session.id).delete()
        return None
    membership = await Membership.filter(
        account_id=session.account.id, organization_id=session.organization.id, status=MembershipStatus.ACTIVE
    ).first()
    if membership is None:
        return None
    membership.account = session.account
    if now - session.last_used_at >= TOUCH_INTERVAL:
        await Session.filter(id=session.id).update(last_used_at=now)
    return Actor(session=session, account=session.account, membership=membership, organization=session.organization)


async def latest_membership(account_id: int, connection: BaseDBAsyncClient | None = None) -> Membership | None:
    """Return the account's most recently joined active membership, with its organization.

    Its organization becomes the current one of a new session.
    """
    query = (
        Membership.filter(account_id=account_id, status=MembershipStatus.ACTIVE)
        .order_by("-joined_at", "-id")
        .select_related("organization")
    )
    if connection is not None:
        query = query.using_db(connection)
    return await query.first()


async def login(raw_email: str, password: str, user_agent: str) -> SignedIn:
    email = normalize_email(raw_email, ("email",))
    check_password_size(password, ("password",))
    account = await Account.get_or_none(email=email)
    if not await verify_password(account.password_hash if account else None, password) or account is None:
        raise UserFacingError(ErrorCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE)

    if needs_rehash(account.password_hash):
        account.password_hash = await hash_password(password)
        await account.save(update_fields=["password_hash"])

    membership = await latest_membership(account.id)
    if membership is None:
        raise UserFacingError(
            ErrorCode.NO_ACCESS,
            "This account is not an active member of any organization. Ask an Admin to invite you again.",
        )
    async with in_transaction() as connection:
        session, token = await open_session(connection, account, membership.organization, user_agent)
    logger.info("Account %d signed in (session %d)", account.id, session.id)
    membership.account = account
    return SignedIn(session=session, session_token=token, account=account, membership=membership)


async def end_session(token: str | None) -> None:
    if token:
        await Session.filter(token_hash=hash_token(token)).delete()


async def switch_organization(actor: Actor, organization_id: int) -> Membership:
    """Make another organization of the account the session's current one."""
    membership = (
        await Membership.filter(account_id=actor.account.id, organization_id=organization_id, status=MembershipStatus.ACTIVE)
        .select_related("organization")
        .first()
    )
    if membership is None:
        raise UserFacingError(
            ErrorCode.NOT_FOUND,
            f"You are not an active member of an organization with id '{organization_id}'. Use an id from viewer.organizations.",
            ("organizationId",),
        )
    assert actor.session is not None, "switching needs a person's session"
    await Session.filter(id=actor.session.id).update(organization_id=organization_id)
    membership.account = actor.account
    return membership
