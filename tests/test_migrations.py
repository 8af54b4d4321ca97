"""Migrations build the schema the models expect, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from tortoise import Tortoise

from console_users.database import apply_migrations, tortoise_config
from console_users.settings import Settings
from models import Account, ActivityEvent, Membership, Organization, OutboxMessage, Session

T = TypeVar("T")

MIGRATIONS = sorted(
    path.stem for path in (Path(__file__).resolve().parent.parent / "console_users" / "migrations").glob("0*.py")
)


async def in_own_context(work: Callable[[], Awaitable[T]]) -> T:
    # A task gets a copy of the current context, so Tortoise.init inside it leaves the
    # session's ORM context of the other tests untouched.
    return await asyncio.create_task(work())


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
