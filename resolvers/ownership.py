"""Handing ownership of an organization to another Admin."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from console_users.settings import Settings
from mailer.outbox import enqueue
from models import ActivityAction, Membership, MembershipStatus, Organization, Role
from resolvers import activity
from resolvers.actor import Actor, display_name, lock_organization, locked_member
from resolvers.credentials import verify_password
from resolvers.limits import limit_password_check
from resolvers.errors import AccessDenied, ErrorCode, UserFacingError
from resolvers.validation import check_password_size, normalize_email


async def transfer_by_owner(settings: Settings, actor: Actor, user_id: int, password: str) -> Organization:
    """Make another ACTIVE Admin the owner; the owner confirms with their password."""
    check_password_size(password, ("password",))
    await limit_password_check(settings, actor.account.email)
    if not await verify_password(actor.account.password_hash, password):
        raise UserFacingError(
            ErrorCode.INVALID_CREDENTIALS,
            "The password is wrong. Enter your own password to confirm the transfer.",
            ("password",),
        )
    async with in_transaction() as connection:
        organization = await lock_organization(connection, actor.organization.id)
        # A concurrent transfer may have moved ownership after this request started.
        if organization.owner_user_id != actor.membership.id:
            raise AccessDenied("Only the owner of the organization can transfer ownership.")
        target = await locked_member(connection, organization, user_id)
        await _transfer(
            connection, settings, organization, target,
            author=actor.author, reason=None,
        )
        return organization


async def transfer_by_support(settings: Settings, organization_id: int, raw_email: str, reason: str) -> Organization:
    """Transfer ownership for support when the owner is unavailable: the same rules, no password."""
    email = normalize_email(raw_email, ("toEmail",))
    if not reason.strip():
        raise UserFacingError(ErrorCode.INVALID_INPUT, "A reason is required; it is kept in the activity log.", ("reason",))
    async with in_transaction() as connection:
        if not await Organization.filter(id=organization_id).using_db(connection).exists():
            raise UserFacingError(ErrorCode.NOT_FOUND, f"No organization has the id '{organization_id}'.", ("organization",))
        organization = await lock_organization(connection, organization_id)
        target = await Membership.filter(organization_id=organization_id, email=email).using_db(connection).first()
        if target is None:
            raise UserFacingError(ErrorCode.NOT_FOUND, f"{email} is not a user of {organization.name}.", ("toEmail",))
        target = await locked_member(connection, organization, target.id)
        await _transfer(
            connection, settings, organization, target,
            author=activity.SUPPORT, reason=reason.strip(),
        )
        return organization


async def _transfer(
    connection: BaseDBAsyncClient,
    settings: Settings,
    organization: Organization,
    target: Membership,
    *,
    author: activity.Author,
    reason: str | None,
) -> None:
    if target.id == organization.owner_user_id:
        raise UserFacingError(ErrorCode.INVALID_INPUT, f"{display_name(target)} already owns {organization.name}.", ("userId",))
    if target.status is not MembershipStatus.ACTIVE or target.role is not Role.ADMIN:
        raise UserFacingError(
            ErrorCode.TARGET_NOT_ADMIN,
            f"{display_name(target)} must be an active Admin to become the owner; make them Admin first.",
            ("userId",),
        )
    previous = await Membership.filter(id=organization.owner_user_id).using_db(connection).first()
    if previous is not None and previous.account_id is not None:  # type: ignore[attr-defined]
        await previous.fetch_related("account", using_db=connection)

    organization.owner_user_id = target.id
    await organization.save(using_db=connection, update_fields=["owner_user_id"])

    previous_name = display_name(previous) if previous is not None else "Nobody"
    new_name = display_name(target)
    context = {
        "organization_name": organization.name,
        "previous_owner_name": previous_name,
        "new_owner_name": new_name,
        "new_owner_email": target.email,
    }
    await enqueue(connection, mail_from=settings.mail_from, kind="ownership_received",
                  to_address=target.email, context=context, organization=organization)
    if previous is not None:
        await enqueue(connection, mail_from=settings.mail_from, kind="ownership_given",
                      to_address=previous.email, context=context, organization=organization)

    description = f"{author.name} transferred ownership of {organization.name} from {previous_name} to {new_name}."
    if reason:
        description += f" Reason: {reason}"
    await activity.record(
        connection,
        organization=organization,
        action=ActivityAction.OWNERSHIP_TRANSFERRED,
        author=author,
        subject=target,
        description=description,
        details={"from_user_id": previous.id if previous else None, "to_user_id": target.id, "reason": reason},
    )
