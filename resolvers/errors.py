"""Domain exceptions. The schema layer turns them into payload errors or top-level errors."""

from __future__ import annotations

import enum
from collections.abc import Sequence


class ErrorCode(enum.StrEnum):
    """Outcomes a user can cause; each is returned as data in a mutation's payload."""

    INVALID_INPUT = "INVALID_INPUT"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    NO_ACCESS = "NO_ACCESS"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    ALREADY_INVITED = "ALREADY_INVITED"
    NOT_INVITED = "NOT_INVITED"
    INVITATION_INVALID = "INVITATION_INVALID"
    INVITATION_EXPIRED = "INVITATION_EXPIRED"
    LAST_ADMIN = "LAST_ADMIN"
    OWNER_MUST_STAY_ADMIN = "OWNER_MUST_STAY_ADMIN"
    CANNOT_REMOVE_OWNER = "CANNOT_REMOVE_OWNER"
    TARGET_NOT_ADMIN = "TARGET_NOT_ADMIN"
    PASSWORD_RESET_INVALID = "PASSWORD_RESET_INVALID"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    EMAIL_CHANGE_INVALID = "EMAIL_CHANGE_INVALID"


class DomainError(Exception):
    """Base of every exception the rules raise on purpose."""


class UserFacingError(DomainError):
    """A refusal the caller can act on: a code, a message naming the value, and the input at fault."""

    def __init__(self, code: ErrorCode, message: str, field: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = list(field) if field is not None else None


class AccessDenied(DomainError):
    """The caller lost the right to act while the request ran (for example, was demoted)."""
