"""Who is acting: a signed-in member, or the system and support (no member)."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from models import Account, Membership, MembershipStatus, Organization, Role, Session
from resolvers.errors import AccessDenied, ErrorCode, UserFacingError


@dataclass
class Actor:
    """A signed-in request: the session, its account, and its active membership."""

    session: Session
    account: Account
    membership: Membership
    organization: Organization

    @property
    def is_admin(self) -> bool:
        return self.membership.role is Role.ADMIN

    @property
    def is_owner(self) -> bool:
        return self.organization.owner_user_id == self.membership.id


async def lock_organization(connection: BaseDBAsyncClient, organization_id: int) -> Organization:
    """Take the organization's row lock; every change to its members runs under it.

    On PostgreSQL this is SELECT ... FOR NO KEY UPDATE: it serialises the changes, yet lets
    other transactions insert rows that reference the organization (their foreign-key check
    takes FOR KEY SHARE, which plain FOR UPDATE would block and could deadlock with).
    SQLite drops the clause, but Tortoise runs SQLite transactions one at a time.
    """
    return await Organization.filter(id=organization_id).select_for_update(no_key=True).using_db(connection).get()


async def recheck_admin(connection: BaseDBAsyncClient, actor: Actor) -> None:
    """Re-read the actor's membership under the lock: a demotion may have landed meanwhile."""
    current = await Membership.filter(id=actor.membership.id).using_db(connection).get()
    if current.status is not MembershipStatus.ACTIVE or current.role is not Role.ADMIN:
        raise AccessDenied("This operation needs the Admin role.")


def role_label(role: Role) -> str:
    return "Admin" if role is Role.ADMIN else "Read-Only"


def display_name(membership: Membership) -> str:
    """Name for people: the account's name once there is one, else the invited address."""
    if membership.account_id is not None:  # type: ignore[attr-defined]
        account = membership.account
        if isinstance(account, Account):
            return account.name
    return membership.email


async def locked_member(connection: BaseDBAsyncClient, organization: Organization, user_id: int) -> Membership:
    """Lock and return a member of the organization, with its account, or raise NOT_FOUND."""
    membership = (
        await Membership.filter(id=user_id, organization_id=organization.id)
        .select_for_update()
        .using_db(connection)
        .first()
    )
    if membership is None:
        raise UserFacingError(ErrorCode.NOT_FOUND, f"No user with id '{user_id}' exists in {organization.name}.", ("userId",))
    if membership.account_id is not None:  # type: ignore[attr-defined]
        await membership.fetch_related("account", using_db=connection)
    return membership
