"""A Tortoise SQLite backend whose UPPER() and LOWER() handle all of Unicode.

SQLite's built-in UPPER() and LOWER() change only the ASCII letters A-Z, so a case-insensitive
search (Tortoise's `icontains`, which compares UPPER() of both sides) would miss "Åsa" when
given "åsa". PostgreSQL folds every letter; this makes SQLite behave the same.
"""

from __future__ import annotations

from tortoise.backends.sqlite.client import SqliteClient


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class UnicodeSqliteClient(SqliteClient):
    async def _post_connect(self) -> None:
        await super()._post_connect()
        assert self._connection is not None
        await self._connection.create_function("upper", 1, _upper, deterministic=True)
        await self._connection.create_function("lower", 1, _lower, deterministic=True)


client_class = UnicodeSqliteClient
