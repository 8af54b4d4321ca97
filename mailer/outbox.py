"""Queue messages in the outbox, inside the caller's transaction."""

from __future__ import annotations

import re
from email.utils import make_msgid, parseaddr
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from console_users.clock import utcnow
from mailer.render import render_message
from models import MessageStatus, Organization, OutboxMessage

# Links carry single-use tokens; once a message is done with, the stored copy loses them.
TOKEN_IN_LINK = re.compile(r"(token=)[A-Za-z0-9_\-]+")
REDACTED = r"\1REDACTED"


def redact_links(body: str) -> str:
    return TOKEN_IN_LINK.sub(REDACTED, body)


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


async def cancel_if_queued(connection: BaseDBAsyncClient, message_id: int | None, reason: str) -> None:
    """Stop a message that has not gone out yet, because its link no longer works.

    The message becomes FAILED with the reason, and its lease is dropped, so a worker that
    claimed it already finds its lease gone and does not send it.
    """
    if message_id is None:
        return
    message = await OutboxMessage.filter(id=message_id, status=MessageStatus.QUEUED).using_db(connection).first()
    if message is None:
        return
    await OutboxMessage.filter(id=message_id, status=MessageStatus.QUEUED).using_db(connection).update(
        status=MessageStatus.FAILED,
        last_error=f"Cancelled before delivery: {reason}",
        lease_expires_at=None,
        leased_by=None,
        text_body=redact_links(message.text_body),
        html_body=redact_links(message.html_body),
    )
