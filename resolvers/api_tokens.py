"""API tokens: bearer credentials that partner integrations use instead of a person's password."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from console_users.clock import utcnow
from models import ActivityAction, ApiToken, Membership, MembershipStatus, Role
from resolvers import activity
from resolvers.actor import Actor, lock_organization, recheck_admin, role_label
from resolvers.credentials import hash_token
from resolvers.errors import ErrorCode, UserFacingError
from resolvers.validation import id_or_none

logger = logging.getLogger(__name__)

# A fixed, distinctive prefix lets secret scanners recognise a leaked token.
SECRET_PREFIX = "cut_"
SECRET_RANDOM_BYTES = 32
# Shown in lists so that people can tell tokens apart: the prefix and six random characters.
DISPLAY_PREFIX_LENGTH = len(SECRET_PREFIX) + 6
MAX_NAME_LENGTH = 100
# last_used_at is written at most this often per token.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass
class IssuedToken:
    token: ApiToken
    # The secret in clear text: returned once to the creator and never stored.
    secret: str


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_RANDOM_BYTES)


def looks_like_token(secret: str) -> bool:
    return secret.startswith(SECRET_PREFIX)


def _clean_name(raw: str) -> str:
    name = raw.strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise UserFacingError(
            ErrorCode.INVALID_INPUT,
            f"The token name {raw[:60]!r} is not usable; give 1 to {MAX_NAME_LENGTH} characters on one line, "
            "such as 'HR sync'.",
            ("input", "name"),
        )
    return name


def _check_expiry(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= utcnow():
        raise UserFacingError(
            ErrorCode.INVALID_INPUT,
            f"expiresAt {expires_at.isoformat()} is in the past; give a future time, or null for no expiry.",
            ("input", "expiresAt"),
        )


async def create_token(actor: Actor, raw_name: str, role: Role, expires_at: datetime | None) -> IssuedToken:
    """Create a token in the actor's organization; only people (not tokens) create tokens."""
    name = _clean_name(raw_name)
    _check_expiry(expires_at)
    secret = new_secret()
    async with in_transaction() as connection:
        organization = await lock_organization(connection, actor.organization.id)
        await recheck_admin(connection, actor)
        token = await ApiToken.create(
            using_db=connection,
            organization=actor.organization,
            name=name,
            role=role,
            token_hash=hash_token(secret),
            display_prefix=secret[:DISPLAY_PREFIX_LENGTH],
            created_by=actor.membership,
            expires_at=expires_at,
        )
        expiry = f", expiring {expires_at.isoformat()}" if expires_at is not None else ""
        await activity.record(
            connection,
            organization=organization,
            action=ActivityAction.API_TOKEN_CREATED,
            author=actor.author,
            subject=None,
            description=f"{actor.author.name} created the API token '{name}' with the role {role_label(role)}{expiry}.",
            details={"api_token_id": token.id, "name": name, "role": role.value},
        )
    logger.info("API token %d created in organization %d by user %d", token.id, actor.organization.id, actor.membership.id)
    return IssuedToken(token=token, secret=secret)


async def list_tokens(organization_id: int) -> list[ApiToken]:
    """Return the organization's tokens that are not revoked, newest first."""
    return await ApiToken.filter(organization_id=organization_id, revoked_at__isnull=True).order_by("-id")


async def revoke_token(actor: Actor, raw_id: str) -> ApiToken:
    """Revoke a token of the actor's organization; it stops working at once."""
    token_id = id_or_none(raw_id)
    async with in_transaction() as connection:
        organization = await lock_organization(connection, actor.organization.id)
        await recheck_admin(connection, actor)
        token = None
        if token_id is not None:
            token = await ApiToken.filter(
                id=token_id, organization_id=actor.organization.id, revoked_at__isnull=True
            ).using_db(connection).first()
        if token is None:
            raise UserFacingError(
                ErrorCode.NOT_FOUND,
                f"No active API token has the id {raw_id[:50]!r} in this organization; list them with apiTokens.",
                ("id",),
            )
        token.revoked_at = utcnow()
        await token.save(using_db=connection, update_fields=["revoked_at"])
        await activity.record(
            connection,
            organization=organization,
            action=ActivityAction.API_TOKEN_REVOKED,
            author=actor.author,
            subject=None,
            description=f"{actor.author.name} revoked the API token '{token.name}'.",
            details={"api_token_id": token.id, "name": token.name},
        )
    logger.info("API token %d revoked by user %d", token.id, actor.membership.id)
    return token


async def authenticate_token(secret: str) -> Actor | None:
    """Return the actor for a bearer secret, or None when it is unknown, revoked, expired or orphaned.

    The creator's membership is read on every request, so demoting or removing the creator
    limits or stops the token from the next request on.
    """
    if not looks_like_token(secret):
        return None
    token = await ApiToken.filter(token_hash=hash_token(secret), revoked_at__isnull=True).select_related(
        "organization", "created_by__account"
    ).first()
    if token is None:
        return None
    now = utcnow()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    creator: Membership = token.created_by
    if creator.status is not MembershipStatus.ACTIVE or creator.organization_id != token.organization.id:  # type: ignore[attr-defined]
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        await ApiToken.filter(id=token.id).update(last_used_at=now)
    return Actor(account=creator.account, membership=creator, organization=token.organization, api_token=token)
