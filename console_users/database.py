"""Tortoise configuration and migrations for both SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise
from tortoise.migrations.api import migrate

from console_users.settings import Settings

MODEL_MODULES = ["models"]
MIGRATIONS_MODULE = "console_users.migrations"


def connection_url(settings: Settings) -> str:
    """Return the database URL with the pool bounds added for PostgreSQL."""
    url = settings.database_url
    if url.startswith("sqlite://"):
        return url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("min_size", str(settings.database_pool_min))
    query.setdefault("max_size", str(settings.database_pool_max))
    return urlunsplit(parts._replace(query=urlencode(query)))


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return {
        "connections": {"default": connection_url(settings)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def apply_migrations(settings: Settings) -> None:
    """Apply pending migrations, creating the SQLite file's folder when needed."""
    path = settings.sqlite_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    await migrate(config=tortoise_config(settings))
    await Tortoise.close_connections()
