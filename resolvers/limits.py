"""Abuse limits of signing in, accepting, inviting and resending, counted across server instances.

Each limit is a setting (README, "Security"). Attempts are counted before the work is done, and
refused attempts count too, so a burst of parallel requests, or of aliases in one request, gets
exactly the allowance and no more. Subjects are stored only as hashes (see `rate_limits`).
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from console_users.clock import utcnow
from console_users.settings import RateLimit, Settings
from models import Membership, MembershipStatus, Organization
from resolvers.errors import DomainError, UserFacingError
from resolvers.rate_limits import Limit, RateLimited, consume
from resolvers.validation import normalize_email


class TooManyPendingInvitations(RateLimited):
    """The organization has MAX_PENDING_INVITATIONS pending invitations already."""

    def __init__(self, cap: int, retry_after: int) -> None:
        DomainError.__init__(
            self,
            f"The organization already has {cap} pending invitations, the maximum. Revoke some (removeUser), "
            f"or try again in {retry_after} seconds, when the oldest one expires.",
        )
        self.action = "invitation"
        self.retry_after = retry_after


def _limit(setting: RateLimit) -> Limit:
    return Limit(count=setting.count, window_seconds=setting.window_seconds)


def account_key(raw_email: str) -> str:
    """Return the address in the form accounts are stored, so that spelling variants share a count."""
    try:
        return normalize_email(raw_email, ("email",))
    except UserFacingError:
        return raw_email.strip().lower()


async def limit_sign_in(settings: Settings, raw_email: str, client_address: str) -> None:
    """Count a sign-in attempt against its client address and against the account it names."""
    await consume("sign-in", f"address:{client_address}", _limit(settings.rate_limit_login_per_address))
    await consume("sign-in", f"account:{account_key(raw_email)}", _limit(settings.rate_limit_login_per_account))


async def limit_acceptance(settings: Settings, client_address: str) -> None:
    """Count an attempt to accept an invitation (it may check an existing account's password)."""
    await consume("invitation acceptance", f"address:{client_address}", _limit(settings.rate_limit_accept_per_address))


async def limit_invitations(settings: Settings, organization_id: int) -> None:
    """Count an invitation sent from an organization, so that it cannot be used to mail at scale."""
    await consume("invitation", f"organization:{organization_id}", _limit(settings.rate_limit_invites_per_organization))


async def limit_resends(settings: Settings, user_id: int) -> None:
    """Count a resend to one invited user, so that nobody's mailbox can be flooded with links."""
    await consume("resend", f"user:{user_id}", _limit(settings.rate_limit_resends_per_user))


async def check_pending_invitations(connection: BaseDBAsyncClient, settings: Settings, organization: Organization) -> None:
    """Raise TooManyPendingInvitations at the cap; call it under the organization's row lock."""
    now = utcnow()
    pending = Membership.filter(
        organization_id=organization.id, status=MembershipStatus.INVITED, invitation_expires_at__gt=now
    ).using_db(connection)
    if await pending.count() < settings.max_pending_invitations:
        return
    oldest = await pending.order_by("invitation_expires_at").first()
    expires_at = oldest.invitation_expires_at if oldest is not None else None
    retry_after = max(1, int((expires_at - now).total_seconds())) if expires_at is not None else 1
    raise TooManyPendingInvitations(settings.max_pending_invitations, retry_after)


async def limit_password_check(settings: Settings, account_email: str) -> None:
    """Count a password check behind a session (changing the password or the address, transferring
    ownership) against the same per-account budget as signing in, so no path allows more guesses."""
    await consume("sign-in", f"account:{account_key(account_email)}", _limit(settings.rate_limit_login_per_account))
