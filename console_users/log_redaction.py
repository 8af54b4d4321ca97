"""Logging filters that keep secrets out of the log, whatever level a deployment turns on.

- `tortoise.db_client` logs every statement at DEBUG with its parameters, and parameters carry
  secrets: the outbox INSERT contains the invitation link with its token. The SQL text is kept and
  the parameters are replaced by their count.
- `aiosqlite` logs every call it hands to its thread at DEBUG, SQL parameters included. Only the
  called function's name is kept.
- `uvicorn.access` logs each request's path with its query string, where a GET request may carry a
  token (`invitation(token: ...)`). The query string is dropped.
"""

from __future__ import annotations

import functools
import logging

SQL_LOGGER = "tortoise.db_client"
SQLITE_LOGGER = "aiosqlite"
ACCESS_LOGGER = "uvicorn.access"


class RedactSqlParameters(logging.Filter):
    """Replace the parameter values of tortoise.db_client records (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 2:
            parameters = record.args[-1]
            count = len(parameters) if isinstance(parameters, (list, tuple)) else 1
            record.args = (*record.args[:-1], f"<{count} parameter(s) not logged>")
        return True


class RedactSqliteCalls(logging.Filter):
    """Replace the calls in aiosqlite's records, which carry the SQL parameters, by the function name."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_call_name(argument) for argument in record.args)
        return True


def _call_name(argument: object) -> object:
    if isinstance(argument, functools.partial):
        function = argument.func
        return f"{getattr(function, '__qualname__', type(function).__name__)}(...)"
    return argument


class DropQueryStrings(logging.Filter):
    """Cut the query string from the path in uvicorn's access log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn 0.55 logs '%s - "%s %s HTTP/%s" %d' with the path third.
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            path, question_mark, _ = record.args[2].partition("?")
            record.args = (*record.args[:2], path + ("?..." if question_mark else ""), *record.args[3:])
        return True


def install_log_redaction() -> None:
    """Attach the filters to their loggers once per process; calling it again changes nothing."""
    filters: tuple[tuple[str, type[logging.Filter]], ...] = (
        (SQL_LOGGER, RedactSqlParameters),
        (SQLITE_LOGGER, RedactSqliteCalls),
        (ACCESS_LOGGER, DropQueryStrings),
    )
    for name, filter_class in filters:
        target = logging.getLogger(name)
        if not any(isinstance(existing, filter_class) for existing in target.filters):
            target.addFilter(filter_class())
