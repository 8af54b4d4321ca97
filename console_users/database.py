"""Tortoise configuration and migrations for both SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate

from console_users.settings import Settings

MODEL_MODULES = ["models"]
MIGRATIONS_MODULE = "console_users.migrations"


SQLITE_ENGINE = "console_users.sqlite_backend"


def connection_config(settings: Settings) -> str | dict[str, Any]:
    """Return the Tortoise connection: PostgreSQL with pool bounds, SQLite with Unicode case folding."""
    url = settings.database_url
    if url.startswith("sqlite://"):
        return {**expand_db_url(url), "engine": SQLITE_ENGINE}
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("min_size", str(settings.database_pool_min))
    query.setdefault("max_size", str(settings.database_pool_max))
    return urlunsplit(parts._replace(query=urlencode(query)))


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(settings)},
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
