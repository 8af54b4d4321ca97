"""Opaque keyset cursors and page-size checks shared by the list fields."""

from __future__ import annotations

import base64
import binascii

from schema.errors import InvalidInputError

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
# The maximum length of an email address: a longer term matches nothing, and SQLite rejects
# LIKE patterns over 50,000 bytes.
MAX_SEARCH_LENGTH = 254


def encode_cursor(kind: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{row_id}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    """Return the row id inside a cursor made by encode_cursor for the same kind."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, raw_id = text.partition(":")
        if prefix == kind and raw_id.isdigit():
            return int(raw_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInputError(
        f"The cursor {cursor[:60]!r} is not valid here; pass an endCursor from a previous page of this list.",
        argument="after",
    )


def check_page_size(first: int | None) -> int:
    """Return the page size to use; an explicit null means the default."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise InvalidInputError(
            f"first is {first}; ask for between 0 and {MAX_PAGE_SIZE} items and page with after.",
            argument="first",
        )
    return first


def check_search_term(search: str | None) -> str | None:
    """Return a search term that can match something, or raise when it is longer than any address."""
    if search is not None and len(search) > MAX_SEARCH_LENGTH:
        raise InvalidInputError(
            f"The search term has {len(search)} characters; use at most {MAX_SEARCH_LENGTH}, part of a name or an email.",
            argument="filter.search",
        )
    return search
