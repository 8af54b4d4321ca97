"""The DateTime scalar: ISO 8601 with an explicit UTC offset, never a naive time."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.types.scalar import ScalarDefinition


def _serialize(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _parse(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"DateTime expects a string such as 2026-12-04T19:19:14+00:00, got {value!r}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"DateTime {value!r} has no offset; add one, such as +00:00")
    return parsed


DATETIME_SCALAR: ScalarDefinition = strawberry.scalar(
    name="DateTime",
    description="Date and time in ISO 8601 with an explicit offset, e.g. 2026-12-04T19:19:14+00:00.",
    serialize=_serialize,
    parse_value=_parse,
)
