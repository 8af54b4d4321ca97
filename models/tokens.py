"""Credentials other than passwords: API tokens for integrations and single-use account links."""

from __future__ import annotations

import enum

from tortoise import fields
from tortoise.models import Model

from models.organization import Role


class ApiToken(Model):
    """A bearer credential for partner integrations, bound to one organization and its creator.

    Its effective role is the lower of `role` and the creator's current role, and it stops working
    when the creator is no longer an active member.
    """

    id = fields.IntField(primary_key=True)
    organization = fields.ForeignKeyField("models.Organization", related_name="api_tokens", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=100)
    role = fields.CharEnumField(Role, max_length=16)
    # SHA-256 of the secret; the secret itself is shown once, at creation.
    token_hash = fields.CharField(max_length=64, unique=True)
    # The first characters of the secret, so that people can tell their tokens apart.
    display_prefix = fields.CharField(max_length=20)
    created_by = fields.ForeignKeyField("models.Membership", related_name="api_tokens", on_delete=fields.RESTRICT)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_tokens"


class AccountTokenPurpose(enum.StrEnum):
    PASSWORD_RESET = "password_reset"
    EMAIL_CHANGE = "email_change"


class AccountToken(Model):
    """A single-use link mailed to an account holder: a password reset or an email change."""

    id = fields.IntField(primary_key=True)
    account = fields.ForeignKeyField("models.Account", related_name="tokens", on_delete=fields.CASCADE)
    purpose = fields.CharEnumField(AccountTokenPurpose, max_length=32)
    token_hash = fields.CharField(max_length=64, unique=True)
    # The address an email change switches to; null for password resets.
    new_email = fields.CharField(max_length=254, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "account_tokens"


class RateLimitCounter(Model):
    """Requests counted per key (an action and who or where it came from) in one fixed time window."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=200)
    # Start of the window, in whole seconds since the Unix epoch.
    window_start = fields.BigIntField()
    count = fields.IntField(default=0)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "rate_limit_counters"
        unique_together = (("key", "window_start"),)
