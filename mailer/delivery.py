"""Deliver outbox messages with aiosmtplib, with leases so several workers can share one table.

A worker claims a batch with `SELECT ... FOR UPDATE SKIP LOCKED` and stamps a lease on it, and
renews the lease of each message just before sending it. If the worker dies, its lease lapses and
another worker picks the messages up. Delivery is therefore at least once: a worker killed after
the SMTP server accepted a message but before the outcome was recorded causes that one message to
be sent again, and so does a single send that outlasts DELIVERY_LEASE_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import timedelta
from email.message import EmailMessage

import aiosmtplib
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from console_users.clock import utcnow
from console_users.settings import Settings, SmtpSecurity
from mailer.outbox import redact_links
from models import MessageStatus, OutboxMessage

logger = logging.getLogger(__name__)

# Retry delays grow 15 s, 30 s, 60 s, ... and stop growing at one hour.
FIRST_RETRY_SECONDS = 15
MAX_RETRY_SECONDS = 3600


class PermanentDeliveryError(Exception):
    """The SMTP server rejected the message for good (a 5xx reply)."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def build_email(message: OutboxMessage, mail_from: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    return email


async def claim_due_messages(settings: Settings, worker_id: str) -> list[OutboxMessage]:
    """Lease up to one batch of due messages to this worker and return them."""
    now = utcnow()
    async with in_transaction() as connection:
        due = (
            await OutboxMessage.filter(status=MessageStatus.QUEUED, next_attempt_at__lte=now)
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
            .order_by("id")
            .limit(settings.delivery_batch_size)
            .select_for_update(skip_locked=True)
            .using_db(connection)
        )
        if not due:
            return []
        lease_expires_at = now + timedelta(seconds=settings.delivery_lease_seconds)
        await (
            OutboxMessage.filter(id__in=[message.id for message in due])
            .using_db(connection)
            .update(lease_expires_at=lease_expires_at, leased_by=worker_id)
        )
    return due


async def send_email(email: EmailMessage, settings: Settings) -> None:
    """Hand one message to the SMTP server, raising PermanentDeliveryError on a 5xx reply."""
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            email,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            use_tls=settings.smtp_security is SmtpSecurity.TLS,
            start_tls=settings.smtp_security is SmtpSecurity.STARTTLS,
            timeout=settings.smtp_timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        codes = [refused.code for refused in error.recipients]
        if all(code >= 500 for code in codes):
            raise PermanentDeliveryError(str(error)) from error
        raise
    except aiosmtplib.SMTPResponseException as error:
        if error.code >= 500:
            raise PermanentDeliveryError(f"{error.code} {error.message}") from error
        raise
    except aiosmtplib.SMTPNotSupported as error:
        # For example an internationalized address sent to a server without SMTPUTF8:
        # retrying the same server cannot help.
        raise PermanentDeliveryError(str(error)) from error


def log_email(message: OutboxMessage) -> None:
    """Stand-in for SMTP when no server is configured: the whole message goes to the log."""
    logger.info(
        "Mail not sent (SMTP_HOST is unset); message %d to %s\nSubject: %s\n\n%s",
        message.id,
        message.to_address,
        message.subject,
        message.text_body,
    )


async def renew_lease(message: OutboxMessage, settings: Settings, worker_id: str) -> bool:
    """Extend this worker's lease before sending; False when the lease was lost meanwhile."""
    now = utcnow()
    renewed = await OutboxMessage.filter(id=message.id, leased_by=worker_id, lease_expires_at__gt=now).update(
        lease_expires_at=now + timedelta(seconds=settings.delivery_lease_seconds)
    )
    return renewed == 1


async def deliver_one(message: OutboxMessage, settings: Settings, worker_id: str) -> MessageStatus | None:
    """Send one claimed message and record the outcome.

    Return the status the message ended in, or None when this worker no longer held the lease
    (a slow batch outlasted it and another worker took the message over).
    """
    if not await renew_lease(message, settings, worker_id):
        logger.info("Skipped message %d: the lease of worker %s lapsed", message.id, worker_id)
        return None
    attempts = message.attempts + 1
    now = utcnow()
    try:
        if settings.smtp_host:
            await send_email(build_email(message, settings.mail_from), settings)
        else:
            log_email(message)
    except PermanentDeliveryError as error:
        logger.warning("Message %d was rejected by the SMTP server: %s", message.id, error)
        status, values = MessageStatus.FAILED, {"last_error": str(error)[:2000]}
    except (aiosmtplib.SMTPException, OSError) as error:
        status = MessageStatus.FAILED if attempts >= settings.delivery_max_attempts else MessageStatus.QUEUED
        delay = min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS)
        values = {"last_error": f"{type(error).__name__}: {error}"[:2000], "next_attempt_at": now + timedelta(seconds=delay)}
        logger.warning(
            "Delivery of message %d failed (attempt %d of %d, %s): %s",
            message.id, attempts, settings.delivery_max_attempts,
            "giving up" if status is MessageStatus.FAILED else f"retrying in {delay} s", error,
        )
    else:
        status, values = MessageStatus.SENT, {"sent_at": now, "last_error": None}
        logger.info("Message %d (%s) delivered", message.id, message.kind)

    if status is not MessageStatus.QUEUED:
        values["text_body"] = redact_links(message.text_body)
        values["html_body"] = redact_links(message.html_body)

    # Only the lease holder records the outcome, so a worker whose lease lapsed cannot
    # overwrite the result of the worker that took the message over.
    await OutboxMessage.filter(id=message.id, leased_by=worker_id).update(
        status=status, attempts=attempts, lease_expires_at=None, leased_by=None, **values
    )
    return status


async def deliver_due_messages(settings: Settings, worker_id: str) -> int:
    """Deliver every message that is due now; return how many were attempted."""
    attempted = 0
    while batch := await claim_due_messages(settings, worker_id):
        for message in batch:
            await deliver_one(message, settings, worker_id)
        attempted += len(batch)
    return attempted


async def run_delivery_loop(settings: Settings, stop: asyncio.Event) -> None:
    """Deliver due messages every DELIVERY_POLL_SECONDS until `stop` is set."""
    worker_id = new_worker_id()
    logger.info("Mail delivery started as worker %s", worker_id)
    while not stop.is_set():
        try:
            await deliver_due_messages(settings, worker_id)
        except Exception:
            # A database hiccup must not end delivery for the life of the process.
            logger.exception("Mail delivery round failed; trying again")
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.delivery_poll_seconds)
        except TimeoutError:
            pass
    logger.info("Mail delivery stopped (worker %s)", worker_id)
