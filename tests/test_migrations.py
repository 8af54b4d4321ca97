"""Migrations build the schema the models expect, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from tortoise import Tortoise
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate

from console_users.database import apply_migrations, tortoise_config
from console_users.settings import Settings
from models import Account, ActivityEvent, ActorKind, Membership, Organization, OutboxMessage, Session

T = TypeVar("T")

MIGRATIONS = sorted(
    path.stem for path in (Path(__file__).resolve().parent.parent / "console_users" / "migrations").glob("0*.py")
)


async def in_own_context(work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` with a Tortoise context of its own.

    Tortoise.init re-initialises whatever context is current, and the tests' session context
    is current here, so `work` must run inside a fresh one to leave the other tests' ORM alone.
    """

    async def isolated() -> T:
        async with TortoiseContext():
            return await work()

    return await asyncio.create_task(isolated())


async def table_row_counts(settings: Settings) -> dict[str, int]:
    await Tortoise.init(config=tortoise_config(settings))
    try:
        return {
            model._meta.db_table: await model.all().count()
            for model in (Account, Organization, Membership, Session, ActivityEvent, OutboxMessage)
        }
    finally:
        await Tortoise.close_connections()


def test_migrations_are_numbered_in_order() -> None:
    assert MIGRATIONS[0] == "0001_initial"
    assert [name[:4] for name in MIGRATIONS] == [f"{number:04d}" for number in range(1, len(MIGRATIONS) + 1)]


async def test_empty_database_migrates_fully(fresh_database_url: Callable[[], Awaitable[str]]) -> None:
    settings = Settings(_env_file=None, database_url=await fresh_database_url())  # type: ignore[call-arg]

    await in_own_context(lambda: apply_migrations(settings))
    counts = await in_own_context(lambda: table_row_counts(settings))

    assert counts == {
        "accounts": 0, "organizations": 0, "memberships": 0, "sessions": 0, "activity_events": 0, "outbox_messages": 0,
    }


async def test_second_migrate_changes_nothing(fresh_database_url: Callable[[], Awaitable[str]]) -> None:
    settings = Settings(_env_file=None, database_url=await fresh_database_url())  # type: ignore[call-arg]

    await in_own_context(lambda: apply_migrations(settings))
    await in_own_context(lambda: apply_migrations(settings))

    counts = await in_own_context(lambda: table_row_counts(settings))
    assert set(counts.values()) == {0}


async def migrate_to(settings: Settings, target: str | None) -> None:
    await migrate(config=tortoise_config(settings), target=target)
    await Tortoise.close_connections()


async def insert_version_one_rows(settings: Settings) -> None:
    """Write rows as the first schema version had them: an organization with three events."""
    await Tortoise.init(config=tortoise_config(settings))
    try:
        connection = Tortoise.get_connection("default")
        now = "2026-01-01 00:00:00+00:00"
        await connection.execute_script(
            "INSERT INTO organizations (id, name, owner_user_id, created_at) VALUES (1, 'Old Co', 1, '%s');"
            "INSERT INTO memberships (id, organization_id, email, role, status, created_at) "
            "VALUES (1, 1, 'old@old.example', 'admin', 'invited', '%s');"
            "INSERT INTO activity_events (organization_id, action, actor_id, actor_name, subject_id, description, details, created_at) "
            "VALUES (1, 'user_invited', NULL, 'System', 1, 'System invited old@old.example as Admin.', '{}', '%s'),"
            "       (1, 'ownership_transferred', NULL, 'Support', 1, 'Support moved ownership.', '{}', '%s'),"
            "       (1, 'invitation_resent', 1, 'Old Admin', 1, 'Old Admin resent it.', '{}', '%s');"
            % (now, now, now, now, now)
        )
    finally:
        await Tortoise.close_connections()


async def actor_kinds(settings: Settings) -> list[tuple[str, str]]:
    await Tortoise.init(config=tortoise_config(settings))
    try:
        rows = await ActivityEvent.all().order_by("id").values_list("actor_name", "actor_kind")
        return [(name, ActorKind(kind).value) for name, kind in rows]
    finally:
        await Tortoise.close_connections()


async def test_actor_kind_filled_for_old_rows(fresh_database_url: Callable[[], Awaitable[str]]) -> None:
    """Adding the NOT NULL actor_kind column works on a table that already has rows."""
    settings = Settings(_env_file=None, database_url=await fresh_database_url())  # type: ignore[call-arg]

    await in_own_context(lambda: migrate_to(settings, "models.0001_initial"))
    await in_own_context(lambda: insert_version_one_rows(settings))
    await in_own_context(lambda: apply_migrations(settings))

    assert await in_own_context(lambda: actor_kinds(settings)) == [
        ("System", "system"),
        ("Support", "support"),
        ("Old Admin", "member"),
    ]
