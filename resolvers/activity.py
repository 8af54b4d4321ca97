"""Writing and reading the activity log."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models import ActivityAction, ActivityEvent, Membership, Organization

SYSTEM_ACTOR_NAME = "System"
SUPPORT_ACTOR_NAME = "Support"


async def record(
    connection: BaseDBAsyncClient,
    *,
    organization: Organization,
    action: ActivityAction,
    actor: Membership | None,
    actor_name: str,
    subject: Membership | None,
    description: str,
    details: dict[str, Any] | None = None,
) -> ActivityEvent:
    """Write one event inside the caller's transaction, with names as they are now."""
    return await ActivityEvent.create(
        using_db=connection,
        organization=organization,
        action=action,
        actor=actor,
        actor_name=actor_name,
        subject=subject,
        description=description,
        details=details or {},
    )


async def list_events(organization_id: int, *, first: int, after_id: int | None) -> list[ActivityEvent]:
    """Return up to `first + 1` events, newest first, older than `after_id` when given."""
    query = ActivityEvent.filter(organization_id=organization_id)
    if after_id is not None:
        query = query.filter(id__lt=after_id)
    return await query.order_by("-id").limit(first + 1)
