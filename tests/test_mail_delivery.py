"""Outbox delivery against a real SMTP server: retries, rejections, leases, the loop and log mode.

Mail is caused through the GraphQL API (inviteUser, resendInvitation) and delivered with the
functions of `mailer.delivery`. A retry or a lapsed lease is made due by moving `next_attempt_at`
or `lease_expires_at` into the past, never by waiting.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from console_users.clock import utcnow
from console_users.settings import Settings
from mailer.delivery import claim_due_messages, deliver_due_messages, deliver_one, run_delivery_loop
from models import Membership, MessageStatus, OutboxMessage
from resolvers.credentials import hash_token
from resolvers.organizations import create_organization
from tests.support import INVITE, REMOVE, RESEND, TOKEN_PATTERN, GraphQLClient, Mailbox, SmtpServer, top_level_codes

USER = "query($id: ID!) { user(id: $id) { id status invitationEmail } }"


async def invite(client: GraphQLClient, address: str) -> dict:
    """Invite `address` as Read-Only and return the new user. The mutation must succeed."""
    payload = await client.invite(address, "READ_ONLY")
    assert payload["errors"] == [], payload
    return payload["user"]


async def invitation_email(client: GraphQLClient, user_id: str) -> str:
    data = await client.data(USER, {"id": user_id})
    return data["user"]["invitationEmail"]


async def message_to(address: str) -> OutboxMessage:
    """Return the only outbox message addressed to `address`."""
    return await OutboxMessage.get(to_address=address)


async def make_retry_due(message_id: int) -> None:
    await OutboxMessage.filter(id=message_id).update(next_attempt_at=utcnow() - timedelta(seconds=1))


async def test_smtp_outage_delays_invitation_mail(
    team, smtp_server: SmtpServer, mailbox: Mailbox, deliver
) -> None:
    await smtp_server.stop()
    try:
        user = await invite(team.owner, "nina@acme.example")
        assert user["status"] == "INVITED"
        assert user["invitationEmail"] == "QUEUED"

        attempted = await deliver()
        assert attempted == 1

        message = await message_to("nina@acme.example")
        assert message.status is MessageStatus.QUEUED
        assert message.attempts == 1
        assert message.last_error
        assert message.next_attempt_at > utcnow()
        assert message.leased_by is None
        assert await invitation_email(team.owner, user["id"]) == "QUEUED"
    finally:
        await smtp_server.start()

    # The retry is not due yet, so a round right after the restart sends nothing.
    assert await deliver() == 0
    assert mailbox.messages == []

    await make_retry_due(message.id)
    assert await deliver() == 1
    assert await deliver() == 0

    received = mailbox.to("nina@acme.example")
    assert len(received) == 1
    assert received[0]["Message-ID"] == message.message_id
    assert len(mailbox.messages) == 1

    sent = await message_to("nina@acme.example")
    assert sent.status is MessageStatus.SENT
    assert sent.attempts == 2
    assert sent.last_error is None
    assert sent.sent_at is not None
    assert await invitation_email(team.owner, user["id"]) == "SENT"


async def test_rejected_recipient_fails_without_retry(team, mailbox: Mailbox, deliver) -> None:
    rejected_user = await invite(team.owner, "nina@acme.example")
    delivered_user = await invite(team.owner, "omar@acme.example")
    mailbox.refused_recipients.add("nina@acme.example")

    assert await deliver() == 2

    rejected = await message_to("nina@acme.example")
    assert rejected.status is MessageStatus.FAILED
    assert rejected.attempts == 1
    assert rejected.last_error
    assert rejected.sent_at is None
    assert mailbox.to("nina@acme.example") == []
    assert await invitation_email(team.owner, rejected_user["id"]) == "FAILED"

    delivered = await message_to("omar@acme.example")
    assert delivered.status is MessageStatus.SENT
    assert len(mailbox.to("omar@acme.example")) == 1
    assert await invitation_email(team.owner, delivered_user["id"]) == "SENT"

    # A FAILED message is never picked up again, even once its retry time has passed.
    mailbox.refused_recipients.clear()
    await make_retry_due(rejected.id)
    assert await deliver() == 0
    assert mailbox.to("nina@acme.example") == []


async def test_resend_after_rejection_queues_new_message(team, mailbox: Mailbox, deliver) -> None:
    user = await invite(team.owner, "nina@acme.example")
    mailbox.refused_recipients.add("nina@acme.example")
    await deliver()
    rejected = await message_to("nina@acme.example")
    assert rejected.status is MessageStatus.FAILED
    mailbox.refused_recipients.clear()

    body = await team.owner.data(RESEND, {"id": user["id"]})
    assert body["resendInvitation"]["errors"] == []
    assert body["resendInvitation"]["user"]["invitationEmail"] == "QUEUED"

    messages = await OutboxMessage.filter(to_address="nina@acme.example").order_by("id")
    assert len(messages) == 2
    assert messages[0].id == rejected.id
    assert messages[0].status is MessageStatus.FAILED
    assert messages[1].status is MessageStatus.QUEUED
    assert messages[1].message_id != rejected.message_id

    assert await deliver() == 1
    assert len(mailbox.to("nina@acme.example")) == 1
    assert await invitation_email(team.owner, user["id"]) == "SENT"


async def test_transient_failures_stop_at_max_attempts(
    team, settings: Settings, smtp_server: SmtpServer, mailbox: Mailbox
) -> None:
    limited = settings.model_copy(update={"delivery_max_attempts": 2})
    user = await invite(team.owner, "nina@acme.example")
    message = await message_to("nina@acme.example")

    await smtp_server.stop()
    try:
        assert await deliver_due_messages(limited, "test-worker") == 1
        first = await message_to("nina@acme.example")
        assert first.status is MessageStatus.QUEUED
        assert first.attempts == 1

        await make_retry_due(message.id)
        assert await deliver_due_messages(limited, "test-worker") == 1
        second = await message_to("nina@acme.example")
        assert second.status is MessageStatus.FAILED
        assert second.attempts == 2
        assert second.last_error
    finally:
        await smtp_server.start()

    await make_retry_due(message.id)
    assert await deliver_due_messages(limited, "test-worker") == 0
    assert mailbox.messages == []
    assert await invitation_email(team.owner, user["id"]) == "FAILED"


async def test_lease_blocks_second_worker(team, settings: Settings) -> None:
    await invite(team.owner, "nina@acme.example")

    claimed_by_a = await claim_due_messages(settings, "worker-a")
    assert [message.to_address for message in claimed_by_a] == ["nina@acme.example"]

    stored = await message_to("nina@acme.example")
    assert stored.leased_by == "worker-a"
    assert stored.lease_expires_at is not None
    assert stored.lease_expires_at > utcnow()

    claimed_by_b = await claim_due_messages(settings, "worker-b")
    assert claimed_by_b == []


async def test_lapsed_lease_passes_to_new_worker(team, settings: Settings, mailbox: Mailbox) -> None:
    user = await invite(team.owner, "nina@acme.example")
    [claimed_by_a] = await claim_due_messages(settings, "worker-a")

    # Worker A stalls until its lease lapses. Worker B takes the message over and sends it.
    await OutboxMessage.filter(id=claimed_by_a.id).update(lease_expires_at=utcnow() - timedelta(seconds=1))
    [claimed_by_b] = await claim_due_messages(settings, "worker-b")
    assert claimed_by_b.id == claimed_by_a.id
    assert (await message_to("nina@acme.example")).leased_by == "worker-b"

    assert await deliver_one(claimed_by_b, settings, "worker-b") is MessageStatus.SENT
    assert len(mailbox.to("nina@acme.example")) == 1

    # Worker A wakes up: its lease is gone, so it neither sends again nor records an outcome.
    assert await deliver_one(claimed_by_a, settings, "worker-a") is None

    recorded = await message_to("nina@acme.example")
    assert recorded.status is MessageStatus.SENT
    assert recorded.attempts == 1
    assert recorded.last_error is None
    assert recorded.sent_at is not None
    assert recorded.leased_by is None
    assert len(mailbox.to("nina@acme.example")) == 1
    assert await invitation_email(team.owner, user["id"]) == "SENT"


async def test_concurrent_workers_claim_disjoint_batches(team, settings: Settings) -> None:
    small_batches = settings.model_copy(update={"delivery_batch_size": 3})
    for number in range(5):
        await invite(team.owner, f"backlog{number}@acme.example")

    batch_a, batch_b = await asyncio.gather(
        claim_due_messages(small_batches, "worker-a"),
        claim_due_messages(small_batches, "worker-b"),
    )
    ids_a = {message.id for message in batch_a}
    ids_b = {message.id for message in batch_b}
    queued_ids = set(await OutboxMessage.filter(status=MessageStatus.QUEUED).values_list("id", flat=True))

    assert len(ids_a) + len(ids_b) == 5
    assert ids_a.isdisjoint(ids_b)
    assert ids_a | ids_b == queued_ids


async def test_backlog_delivered_once_each(team, settings: Settings, mailbox: Mailbox) -> None:
    small_batches = settings.model_copy(update={"delivery_batch_size": 7})
    addresses = [f"backlog{number:02d}@acme.example" for number in range(30)]
    for address in addresses:
        await invite(team.owner, address)

    assert await deliver_due_messages(small_batches, "test-worker") == 30

    queued = await OutboxMessage.filter(to_address__in=addresses)
    assert len(queued) == 30
    assert all(message.status is MessageStatus.SENT for message in queued)

    received_ids = [message["Message-ID"] for message in mailbox.messages]
    assert len(received_ids) == 30
    assert len(set(received_ids)) == 30
    assert set(received_ids) == {message.message_id for message in queued}
    assert {message["To"] for message in mailbox.messages} == set(addresses)


async def test_delivery_loop_sends_then_stops(team, settings: Settings, mailbox: Mailbox) -> None:
    await invite(team.owner, "nina@acme.example")
    stop = asyncio.Event()
    loop_task = asyncio.create_task(run_delivery_loop(settings, stop))
    try:
        # Bounded wait: at most 100 polls of 50 ms for the loop's first round.
        for _ in range(100):
            if mailbox.messages or loop_task.done():
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(loop_task, timeout=5)

    assert loop_task.exception() is None
    assert len(mailbox.to("nina@acme.example")) == 1
    assert (await message_to("nina@acme.example")).status is MessageStatus.SENT


async def test_log_mode_writes_message_to_log(
    team, settings: Settings, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    log_only = settings.model_copy(update={"smtp_host": None})
    user = await invite(team.owner, "nina@acme.example")
    message = await message_to("nina@acme.example")
    caplog.set_level(logging.INFO, logger="mailer.delivery")

    assert await deliver_due_messages(log_only, "test-worker") == 1

    logged = [
        record.getMessage()
        for record in caplog.records
        if record.name == "mailer.delivery" and record.levelno == logging.INFO and "nina@acme.example" in record.getMessage()
    ]
    assert len(logged) == 1
    assert message.subject in logged[0]

    # The logged link carries the live invitation token.
    link = TOKEN_PATTERN.search(logged[0])
    assert link is not None
    membership = await Membership.get(id=int(user["id"]))
    assert hash_token(link.group(1)) == membership.invitation_token_hash

    assert (await message_to("nina@acme.example")).status is MessageStatus.SENT
    assert await invitation_email(team.owner, user["id"]) == "SENT"
    assert mailbox.messages == []
    assert mailbox.envelopes == []




async def test_longest_names_still_queue_invitation(settings: Settings, new_client, mailbox: Mailbox, deliver) -> None:
    # Both names are at the 200-character maximum that the API accepts.
    organization_name = "Northwind " + "O" * 190
    owner_name = "Olivia " + "N" * 193
    _, invitation = await create_organization(settings, organization_name, "olivia@acme.example")
    owner = new_client()
    accepted = await owner.accept(invitation.token, owner_name)
    assert accepted["errors"] == []
    await deliver()
    mailbox.clear()

    body = await owner.post(INVITE, {"input": {"email": "nina@acme.example", "role": "READ_ONLY"}})
    assert top_level_codes(body) == []
    assert body["data"]["inviteUser"]["errors"] == []
    assert body["data"]["inviteUser"]["user"]["invitationEmail"] == "QUEUED"

    assert await deliver() == 1
    assert len(mailbox.to("nina@acme.example")) == 1


async def test_delivered_body_loses_token(team, mailbox: Mailbox, deliver) -> None:
    await invite(team.owner, "zed@acme.example")
    await deliver()
    token = mailbox.invitation_token("zed@acme.example")

    stored = await message_to("zed@acme.example")
    assert stored.status is MessageStatus.SENT
    assert token not in stored.text_body
    assert token not in stored.html_body
    assert "token=REDACTED" in stored.text_body


async def test_revoked_invitation_mail_not_sent(team, mailbox: Mailbox, deliver) -> None:
    user = await invite(team.owner, "gone@acme.example")
    await team.owner.data(REMOVE, {"id": user["id"]})

    await deliver()

    assert mailbox.to("gone@acme.example") == []
    stored = await message_to("gone@acme.example")
    assert stored.status is MessageStatus.FAILED
    assert stored.last_error is not None
    assert stored.last_error.startswith("Cancelled")
    assert "token=REDACTED" in stored.text_body


async def test_resend_replaces_unsent_mail(team, new_client, mailbox: Mailbox, deliver) -> None:
    user = await invite(team.owner, "twice@acme.example")
    await team.owner.data(RESEND, {"id": user["id"]})

    await deliver()

    assert len(mailbox.to("twice@acme.example")) == 1
    accepted = await new_client().accept(mailbox.invitation_token("twice@acme.example"), "Twice")
    assert accepted["errors"] == []


async def test_claimed_mail_cancelled_is_skipped(team, settings: Settings, mailbox: Mailbox) -> None:
    user = await invite(team.owner, "late@acme.example")
    [claimed] = await claim_due_messages(settings, "worker-a")

    await team.owner.data(REMOVE, {"id": user["id"]})

    assert await deliver_one(claimed, settings, "worker-a") is None
    assert mailbox.to("late@acme.example") == []
    assert (await message_to("late@acme.example")).status is MessageStatus.FAILED
