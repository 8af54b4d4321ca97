"""Listing members, changing roles and removing users."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from console_users.clock import utcnow
from mailer.outbox import cancel_if_queued
from models import ActivityAction, Membership, MembershipStatus, Organization, Role, Session
from resolvers import activity
from resolvers.actor import Actor, display_name, lock_organization, locked_member, recheck_admin, role_label
from resolvers.errors import ErrorCode, UserFacingError


class ListedStatus:
    """Status names of the API, where INVITATION_EXPIRED is derived from the expiry time."""

    ACTIVE = "ACTIVE"
    INVITED = "INVITED"
    INVITATION_EXPIRED = "INVITATION_EXPIRED"
    REMOVED = "REMOVED"


DEFAULT_STATUSES = (ListedStatus.ACTIVE, ListedStatus.INVITED, ListedStatus.INVITATION_EXPIRED)


@dataclass
class UserQuery:
    statuses: Sequence[str] = DEFAULT_STATUSES
    role: Role | None = None
    search: str | None = None


def _status_condition(status: str) -> Q:
    now = utcnow()
    if status == ListedStatus.ACTIVE:
        return Q(status=MembershipStatus.ACTIVE)
    if status == ListedStatus.INVITED:
        return Q(status=MembershipStatus.INVITED, invitation_expires_at__gt=now)
    if status == ListedStatus.INVITATION_EXPIRED:
        return Q(status=MembershipStatus.INVITED, invitation_expires_at__lte=now)
    return Q(status=MembershipStatus.REMOVED)


def filtered_members(organization_id: int, query: UserQuery) -> QuerySet[Membership]:
    members = Membership.filter(organization_id=organization_id)
    if query.statuses:
        members = members.filter(Q(*[_status_condition(status) for status in query.statuses], join_type="OR"))
    else:
        members = members.filter(id__lt=0)
    if query.role is not None:
        members = members.filter(role=query.role)
    if query.search:
        term = query.search.strip()
        members = members.filter(Q(email__icontains=term) | Q(account__name__icontains=term))
    return members


async def list_members(
    organization_id: int, query: UserQuery, *, first: int, after_id: int | None
) -> tuple[list[Membership], int]:
    """Return up to `first + 1` members after `after_id` in id order, and the total count.

    Paging is keyset on the primary key, so a page costs the same however deep it is.
    """
    members = filtered_members(organization_id, query)
    total = await members.count()
    page_query = members if after_id is None else members.filter(id__gt=after_id)
    page = await page_query.order_by("id").limit(first + 1).select_related("account")
    return page, total


async def _ensure_not_last_admin(connection: BaseDBAsyncClient, organization: Organization, membership: Membership, verb: str) -> None:
    """Refuse any change that would leave the organization without an ACTIVE Admin."""
    if membership.status is not MembershipStatus.ACTIVE or membership.role is not Role.ADMIN:
        return
    admins = await Membership.filter(
        organization_id=organization.id, status=MembershipStatus.ACTIVE, role=Role.ADMIN
    ).using_db(connection).count()
    if admins <= 1:
        raise UserFacingError(
            ErrorCode.LAST_ADMIN,
            f"{display_name(membership)} is the last active Admin of {organization.name}; make another user Admin before you {verb}.",
            ("userId",),
        )


async def change_role(actor: Actor, user_id: int, role: Role) -> Membership:
    async with in_transaction() as connection:
        organization = await lock_organization(connection, actor.organization.id)
        await recheck_admin(connection, actor)
        membership = await locked_member(connection, organization, user_id)
        if membership.status is MembershipStatus.REMOVED:
            raise UserFacingError(
                ErrorCode.INVALID_INPUT,
                f"{display_name(membership)} was removed; invite the address again to give them a role.",
                ("userId",),
            )
        if membership.role is role:
            return membership
        if role is not Role.ADMIN and organization.owner_user_id == membership.id:
            raise UserFacingError(
                ErrorCode.OWNER_MUST_STAY_ADMIN,
                f"{display_name(membership)} owns {organization.name} and must stay Admin; transfer ownership first.",
                ("role",),
            )
        if role is not Role.ADMIN:
            await _ensure_not_last_admin(connection, organization, membership, "demoting this one")

        old_role = membership.role
        membership.role = role
        await membership.save(using_db=connection, update_fields=["role"])
        await activity.record(
            connection,
            organization=organization,
            action=ActivityAction.USER_ROLE_CHANGED,
            author=actor.author,
            subject=membership,
            description=f"{actor.author.name} changed the role of {display_name(membership)} from {role_label(old_role)} to {role_label(role)}.",
            details={"from": old_role.value, "to": role.value},
        )
        return membership


async def remove_user(actor: Actor, user_id: int) -> Membership:
    """Remove a member (ending their sessions in this organization) or revoke an invitation."""
    async with in_transaction() as connection:
        organization = await lock_organization(connection, actor.organization.id)
        await recheck_admin(connection, actor)
        membership = await locked_member(connection, organization, user_id)
        if membership.status is MembershipStatus.REMOVED:
            raise UserFacingError(ErrorCode.INVALID_INPUT, f"{display_name(membership)} was already removed.", ("userId",))
        if organization.owner_user_id == membership.id:
            raise UserFacingError(
                ErrorCode.CANNOT_REMOVE_OWNER,
                f"{display_name(membership)} owns {organization.name} and cannot be removed; transfer ownership first.",
                ("userId",),
            )
        await _ensure_not_last_admin(connection, organization, membership, "removing this one")

        was_invited = membership.status is MembershipStatus.INVITED
        membership.status = MembershipStatus.REMOVED
        membership.removed_at = utcnow()
        membership.invitation_token_hash = None
        await membership.save(using_db=connection, update_fields=["status", "removed_at", "invitation_token_hash"])
        if was_invited:
            await cancel_if_queued(connection, membership.invitation_message_id, "the invitation was revoked")  # type: ignore[attr-defined]
            action = ActivityAction.INVITATION_REVOKED
            description = f"{actor.author.name} revoked the invitation to {membership.email}."
        else:
            action = ActivityAction.USER_REMOVED
            description = f"{actor.author.name} removed {display_name(membership)} ({membership.email})."
            await Session.filter(account_id=membership.account_id, organization_id=organization.id).using_db(connection).delete()  # type: ignore[attr-defined]
        await activity.record(
            connection,
            organization=organization,
            action=action,
            author=actor.author,
            subject=membership,
            description=description,
        )
        return membership
