"""Writing and reading the activity log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models import ActivityAction, ActivityEvent, ActorKind, ApiToken, Membership, Organization

SYSTEM_ACTOR_NAME = "System"
SUPPORT_ACTOR_NAME = "Support"


@dataclass(frozen=True)
class Author:
    """Whom an event is attributed to: a member (perhaps through an API token), or no person."""

    member: Membership | None
    name: str
    kind: ActorKind
    api_token: ApiToken | None = None


SYSTEM = Author(member=None, name=SYSTEM_ACTOR_NAME, kind=ActorKind.SYSTEM)
SUPPORT = Author(member=None, name=SUPPORT_ACTOR_NAME, kind=ActorKind.SUPPORT)


def member_author(member: Membership, name: str) -> Author:
    return Author(member=member, name=name, kind=ActorKind.MEMBER)


async def record(
    connection: BaseDBAsyncClient,
    *,
    organization: Organization,
    action: ActivityAction,
    author: Author,
    subject: Membership | None,
    description: str,
    details: dict[str, Any] | None = None,
) -> ActivityEvent:
    """Write one event inside the caller's transaction, with names as they are now."""
    return await ActivityEvent.create(
        using_db=connection,
        organization=organization,
        action=action,
        actor=author.member,
        actor_name=author.name,
        actor_kind=author.kind,
        api_token=author.api_token,
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
