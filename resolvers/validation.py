"""Checks on raw input. Each failure names the value and states what to send instead."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from email_validator import EmailNotValidError, validate_email

from resolvers.errors import ErrorCode, UserFacingError

MIN_PASSWORD_LENGTH = 12
# argon2 accepts any length; the cap only keeps one request from hashing megabytes.
MAX_PASSWORD_LENGTH = 1024
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
# Ids are 32-bit integer columns on PostgreSQL; anything larger cannot name a row.
MAX_ID = 2**31 - 1


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value)


def normalize_email(raw: str, field: Sequence[str]) -> str:
    """Validate an address and return it lower-cased, the form it is stored and compared in."""
    candidate = raw.strip()
    if not candidate or len(candidate) > MAX_EMAIL_LENGTH or _has_control_characters(candidate):
        raise UserFacingError(
            ErrorCode.INVALID_INPUT,
            f"{raw[:100]!r} is not a valid email address. Enter an address such as ann@example.com.",
            field,
        )
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as error:
        raise UserFacingError(
            ErrorCode.INVALID_INPUT,
            f"{raw[:100]!r} is not a valid email address: {error} Enter an address such as ann@example.com.",
            field,
        ) from None
    return result.normalized.lower()


def clean_name(raw: str | None, field: Sequence[str]) -> str:
    """Return the trimmed display name, or raise when it is missing or unusable."""
    name = (raw or "").strip()
    if not name:
        raise UserFacingError(ErrorCode.INVALID_INPUT, "A name is required to create the account. Enter the name colleagues know you by.", field)
    if len(name) > MAX_NAME_LENGTH:
        raise UserFacingError(ErrorCode.INVALID_INPUT, f"The name is {len(name)} characters long; use at most {MAX_NAME_LENGTH}.", field)
    if _has_control_characters(name):
        raise UserFacingError(ErrorCode.INVALID_INPUT, f"The name {name[:100]!r} contains line breaks or control characters; remove them.", field)
    return name


def check_new_password(password: str, field: Sequence[str]) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserFacingError(
            ErrorCode.WEAK_PASSWORD,
            f"The password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}.",
            field,
        )
    check_password_size(password, field)


def check_password_size(password: str, field: Sequence[str]) -> None:
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserFacingError(ErrorCode.INVALID_INPUT, f"The password has {len(password)} characters; use at most {MAX_PASSWORD_LENGTH}.", field)


def id_or_none(raw: str) -> int | None:
    """Return the row id an ID argument names, or None when it cannot name a row."""
    if raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_ID)) and int(raw) <= MAX_ID:
        return int(raw)
    return None


def parse_id(raw: str, field: Sequence[str], what: str) -> int:
    """Parse an ID argument; a malformed one is reported like an unknown one."""
    row_id = id_or_none(raw)
    if row_id is not None:
        return row_id
    raise UserFacingError(ErrorCode.NOT_FOUND, f"No {what} has the id {raw[:50]!r}. Use an id returned by the API.", field)
