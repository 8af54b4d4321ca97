"""The database-backed rate limiter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from models import RateLimitCounter
from resolvers.rate_limits import Limit, RateLimited, consume

THREE_PER_MINUTE = Limit(count=3, window_seconds=60)
START = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


async def test_allows_up_to_limit(db: None) -> None:
    for _ in range(3):
        await consume("login", "ann@example.com", THREE_PER_MINUTE, now=START)
    with pytest.raises(RateLimited) as raised:
        await consume("login", "ann@example.com", THREE_PER_MINUTE, now=START + timedelta(seconds=15))
    assert raised.value.retry_after == 45


async def test_next_window_starts_fresh(db: None) -> None:
    for _ in range(3):
        await consume("login", "ann@example.com", THREE_PER_MINUTE, now=START)
    await consume("login", "ann@example.com", THREE_PER_MINUTE, now=START + timedelta(seconds=60))


async def test_keys_are_independent(db: None) -> None:
    for _ in range(3):
        await consume("login", "ann@example.com", THREE_PER_MINUTE, now=START)
    await consume("login", "bob@example.com", THREE_PER_MINUTE, now=START)
    await consume("accept", "ann@example.com", THREE_PER_MINUTE, now=START)


async def test_concurrent_attempts_never_exceed_limit(db: None) -> None:
    results = await asyncio.gather(
        *[consume("login", "ann@example.com", Limit(count=5, window_seconds=60), now=START) for _ in range(12)],
        return_exceptions=True,
    )
    assert sum(1 for result in results if result is None) == 5
    assert all(isinstance(result, RateLimited) for result in results if result is not None)


async def test_subject_is_not_stored(db: None) -> None:
    await consume("login", "ann@example.com", THREE_PER_MINUTE, now=START)
    keys = await RateLimitCounter.all().values_list("key", flat=True)
    assert len(keys) == 1
    assert "ann" not in keys[0]
