"""A person's identity (account) and their signed-in browser sessions."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Account(Model):
    """An identity: one per email address, shared by every organization the person belongs to."""

    id = fields.IntField(primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive.
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    password_hash = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "accounts"


class Session(Model):
    """A signed-in client. Only the SHA-256 hash of the cookie token is stored."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="sessions", on_delete=fields.CASCADE
    )
    # The organization this session acts in; switchOrganization changes it.
    organization = fields.ForeignKeyField(
        "models.Organization", related_name="sessions", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField()
    user_agent = fields.CharField(max_length=500, default="")

    class Meta:
        table = "sessions"
