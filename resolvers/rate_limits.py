"""Rate limits that hold across server instances: fixed-window counters in the database.

Each attempt increments the counter of its key for the current window with one atomic upsert,
so concurrent requests on several instances cannot both slip under the limit.
"""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise import Tortoise

from console_users.clock import utcnow
from models import RateLimitCounter
from resolvers.errors import DomainError

logger = logging.getLogger(__name__)

# One call in this many also deletes counters whose window has passed.
PURGE_ONE_IN = 200


@dataclass(frozen=True)
class Limit:
    """At most `count` attempts per `window_seconds`."""

    count: int
    window_seconds: int


class RateLimited(DomainError):
    """Too many attempts; `retry_after` is the number of seconds until the window resets."""

    def __init__(self, action: str, retry_after: int) -> None:
        super().__init__(f"Too many {action} attempts. Try again in {retry_after} seconds.")
        self.action = action
        self.retry_after = retry_after


def counter_key(action: str, subject: str) -> str:
    # The subject is hashed, so no email address or client address is stored in the table.
    return f"{action}:{hashlib.sha256(subject.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}"


def _upsert_sql(dialect: str) -> str:
    placeholders = ("$1", "$2", "$3") if dialect == "postgres" else ("?", "?", "?")
    return (
        "INSERT INTO rate_limit_counters (key, window_start, count, expires_at) "
        f"VALUES ({placeholders[0]}, {placeholders[1]}, 1, {placeholders[2]}) "
        "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_counters.count + 1 "
        "RETURNING count"
    )


async def consume(action: str, subject: str, limit: Limit, *, now: datetime | None = None) -> None:
    """Count one attempt of `action` by `subject` (an account, an address, a token...).

    Raise RateLimited when this attempt is over the limit. Refused attempts count too, so a
    client that keeps trying does not get a fresh allowance by hammering the boundary.
    """
    now = now or utcnow()
    epoch_seconds = int(now.timestamp())
    window_start = epoch_seconds - epoch_seconds % limit.window_seconds
    window_end = datetime.fromtimestamp(window_start + limit.window_seconds, UTC)
    connection = Tortoise.get_connection("default")
    # execute_query_dict, because Tortoise's execute_query drops the rows of an INSERT on asyncpg.
    rows = await connection.execute_query_dict(
        _upsert_sql(connection.capabilities.dialect),
        [counter_key(action, subject), window_start, window_end],
    )
    count = int(rows[0]["count"])
    if random.randrange(PURGE_ONE_IN) == 0:
        await RateLimitCounter.filter(expires_at__lt=now - timedelta(seconds=1)).delete()
    if count > limit.count:
        retry_after = max(1, window_start + limit.window_seconds - epoch_seconds)
        logger.info("Rate limit of %s reached (%d attempts in the window)", action, count)
        raise RateLimited(action, retry_after)
