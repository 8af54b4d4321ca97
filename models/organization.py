"""Organizations and memberships (a membership is a "user" in the API)."""

from __future__ import annotations

import enum

from tortoise import fields
from tortoise.models import Model


class Role(enum.StrEnum):
    ADMIN = "admin"
    READ_ONLY = "read_only"


class MembershipStatus(enum.StrEnum):
    """Stored status. An invitation past its expiry is still INVITED here; the API derives
    INVITATION_EXPIRED from `invitation_expires_at`."""

    INVITED = "invited"
    ACTIVE = "active"
    REMOVED = "removed"


class Organization(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    # NOTE: a plain column rather than a foreign key, because memberships already point at
    # organizations and a cycle of foreign keys complicates migrations and table rebuilds.
    # Membership rows are never deleted, so the id always resolves.
    owner_user_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "organizations"


class Membership(Model):
    """One email address's access to one organization: invited, active or removed."""

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="memberships", on_delete=fields.CASCADE
    )
    # Lower-cased address the invitation went to; the account takes it over on acceptance.
    email = fields.CharField(max_length=254)
    account = fields.ForeignKeyField(
        "models.Account", related_name="memberships", null=True, on_delete=fields.RESTRICT
    )
    role = fields.CharEnumField(Role, max_length=16)
    status = fields.CharEnumField(MembershipStatus, max_length=16)
    invited_by = fields.ForeignKeyField(
        "models.Membership", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    invited_at = fields.DatetimeField(null=True)
    invitation_expires_at = fields.DatetimeField(null=True)
    # SHA-256 of the current invitation token; cleared when the token is used or revoked.
    invitation_token_hash = fields.CharField(max_length=64, null=True, unique=True)
    invitation_message = fields.ForeignKeyField(
        "models.OutboxMessage", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    joined_at = fields.DatetimeField(null=True)
    removed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "memberships"
        unique_together = (("organization", "email"),)
