"""Outgoing mail, written in the same transaction as the change that causes it."""

from __future__ import annotations

import enum

from tortoise import fields
from tortoise.models import Model


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Model):
    """A rendered message waiting for, or done with, delivery."""

    id = fields.IntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    # Template name, e.g. "invitation"; kept for logs and statistics.
    kind = fields.CharField(max_length=50)
    to_address = fields.CharField(max_length=254)
    subject = fields.TextField()
    # Invitation links in the bodies are redacted once delivery ends (sent or failed).
    text_body = fields.TextField()
    html_body = fields.TextField()
    message_id = fields.CharField(max_length=300)
    status = fields.CharEnumField(MessageStatus, max_length=16, default=MessageStatus.QUEUED)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    # A worker owns the message until `lease_expires_at`; a crashed worker's claim lapses.
    lease_expires_at = fields.DatetimeField(null=True)
    leased_by = fields.CharField(max_length=100, null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_messages"
        indexes = (("status", "next_attempt_at"),)
