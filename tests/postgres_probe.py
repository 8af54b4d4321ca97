"""Exit 0 when the PostgreSQL server given as the first argument accepts a connection."""

from __future__ import annotations

import asyncio
import sys

import asyncpg


async def probe(server_url: str) -> bool:
    try:
        connection = await asyncpg.connect(f"{server_url.rstrip('/')}/postgres", timeout=3)
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as error:
        print(f"PostgreSQL probe failed: {error}", file=sys.stderr)
        return False
    await connection.close()
    return True


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(probe(sys.argv[1])) else 1)
