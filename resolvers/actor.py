"""The actor of a request: a person with a session, or an API token acting for its creator."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from models import Account, ActorKind, ApiToken, Membership, MembershipStatus, Organization, Role, Session
from resolvers.activity import Author
from resolvers.errors import AccessDenied, ErrorCode, UserFacingError


@dataclass
class Actor:
    """An authenticated request.

    For a person, `session` is set. For an API token, `api_token` is set, and `account` and
    `membership` are the token's creator, whose current role caps the token's.
    """

    account: Account
    membership: Membership
    organization: Organization
    session: Session | None = None
    api_token: ApiToken | None = None

    @property
    def is_person(self) -> bool:
        return self.api_token is None

    @property
    def role(self) -> Role:
        """The role in force: never more than the membership's, nor than the token's."""
        return effective_role(self.membership.role, self.api_token)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_owner(self) -> bool:
        # Tokens never act as the owner: ownership changes need a person and a password.
        return self.is_person and self.organization.owner_user_id == self.membership.id

    @property
    def author(self) -> Author:
        """Whom the activity log names for this request's changes."""
        if self.api_token is None:
            return Author(member=self.membership, name=self.account.name, kind=ActorKind.MEMBER)
        return Author(
            member=self.membership,
            name=f"{self.account.name} (API token '{self.api_token.name}')",
            kind=ActorKind.API_TOKEN,
            api_token=self.api_token,
        )


def effective_role(member_role: Role, token: ApiToken | None) -> Role:
    if token is not None and token.role is Role.READ_ONLY:
        return Role.READ_ONLY
    return member_role


async def lock_organization(connection: BaseDBAsyncClient, organization_id: int) -> Organization:
    """Take the organization's row lock; every change to its members runs under it.

    On PostgreSQL this is SELECT ... FOR NO KEY UPDATE: it serialises the changes, yet lets
    other transactions insert rows that reference the organization (their foreign-key check
    takes FOR KEY SHARE, which plain FOR UPDATE would block and could deadlock with).
    SQLite drops the clause, but Tortoise runs SQLite transactions one at a time.
    """
    return await Organization.filter(id=organization_id).select_for_update(no_key=True).using_db(connection).get()


async def lock_account(connection: BaseDBAsyncClient, account_id: int) -> Account:
    """Take the account's row lock (SELECT ... FOR NO KEY UPDATE on PostgreSQL) and return the row.

    Take it before any organization or membership lock, as accepting an invitation and changing
    an address both do.
    """
    return await Account.filter(id=account_id).select_for_update(no_key=True).using_db(connection).get()


async def recheck_admin(connection: BaseDBAsyncClient, actor: Actor) -> None:
    """Re-read the actor's rights under the lock: a demotion or revocation may have landed meanwhile."""
    current = await Membership.filter(id=actor.membership.id).using_db(connection).get()
    token = actor.api_token
    if token is not None:
        token = await ApiToken.filter(id=token.id, revoked_at__isnull=True).using_db(connection).first()
        if token is None:
            raise AccessDenied("This API token was revoked.")
    if current.status is not MembershipStatus.ACTIVE or effective_role(current.role, token) is not Role.ADMIN:
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
