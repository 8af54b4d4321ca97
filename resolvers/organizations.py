"""Creating organizations and writing to their owner (used by the command line)."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from console_users.settings import Settings
from mailer.outbox import enqueue
from models import Membership, Organization, OutboxMessage, Role
from resolvers import activity
from resolvers.errors import ErrorCode, UserFacingError
from resolvers.invitations import IssuedInvitation, invite_into
from resolvers.validation import clean_name, normalize_email


async def create_organization(settings: Settings, raw_name: str, raw_owner_email: str) -> tuple[Organization, IssuedInvitation]:
    """Create an organization and invite its owner as Admin; accepting makes them the active owner."""
    name = clean_name(raw_name, ("name",))
    owner_email = normalize_email(raw_owner_email, ("ownerEmail",))
    async with in_transaction() as connection:
        organization = await Organization.create(using_db=connection, name=name)
        invitation = await invite_into(
            connection, settings, organization, email=owner_email, role=Role.ADMIN, author=activity.SYSTEM, inviter_name=None
        )
        organization.owner_user_id = invitation.membership.id
        await organization.save(using_db=connection, update_fields=["owner_user_id"])
    return organization, invitation


async def notify_owner(settings: Settings, organization_id: int, subject: str, body: str) -> OutboxMessage:
    """Queue a message to the current owner of the organization."""
    subject = " ".join(subject.split())
    if not subject or not body.strip():
        raise UserFacingError(ErrorCode.INVALID_INPUT, "Both a subject and a non-empty body are required.")
    async with in_transaction() as connection:
        organization = await Organization.filter(id=organization_id).using_db(connection).first()
        if organization is None:
            raise UserFacingError(ErrorCode.NOT_FOUND, f"No organization has the id '{organization_id}'.", ("organization",))
        owner = await Membership.filter(id=organization.owner_user_id).using_db(connection).get()
        return await enqueue(
            connection,
            mail_from=settings.mail_from,
            kind="owner_notice",
            to_address=owner.email,
            organization=organization,
            context={"organization_name": organization.name, "subject": subject, "body": body},
        )
