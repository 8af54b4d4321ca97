"""Queue messages in the outbox, inside the caller's transaction."""

from __future__ import annotations

from email.utils import make_msgid, parseaddr
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from console_users.clock import utcnow
from mailer.render import render_message
from models import Organization, OutboxMessage


def _message_id_domain(mail_from: str) -> str:
    address = parseaddr(mail_from)[1]
    return address.rpartition("@")[2] or "localhost"


async def enqueue(
    connection: BaseDBAsyncClient,
    *,
    mail_from: str,
    kind: str,
    to_address: str,
    context: dict[str, Any],
    organization: Organization | None,
) -> OutboxMessage:
    """Render a message and store it for the delivery loop; it commits with the caller."""
    rendered = render_message(kind, context)
    return await OutboxMessage.create(
        using_db=connection,
        organization=organization,
        kind=kind,
        to_address=to_address,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        message_id=make_msgid(domain=_message_id_domain(mail_from)),
        next_attempt_at=utcnow(),
    )
