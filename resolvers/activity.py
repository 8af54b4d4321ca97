"""Writing and reading the activity log."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models import ActivityAction, ActivityEvent, ActorKind, ApiToken, Membership, Organization

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
    actor_kind: ActorKind | None = None,
    api_token: ApiToken | None = None,
) -> ActivityEvent:
    """Write one event inside the caller's transaction, with names as they are now.

    Without an explicit `actor_kind`, an event with an actor is a member's, and one without is
    the system's.
    """
    if actor_kind is None:
        actor_kind = ActorKind.MEMBER if actor is not None else ActorKind.SYSTEM
    return await ActivityEvent.create(
        using_db=connection,
        organization=organization,
        action=action,
        actor=actor,
        actor_name=actor_name,
        actor_kind=actor_kind,
        api_token=api_token,
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
