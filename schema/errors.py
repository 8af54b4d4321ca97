"""Top-level GraphQL errors, the masking of unexpected ones, and how errors are logged."""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

logger = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = "Internal server error. The failure was logged; try again later."


class ClientError(Exception):
    """A top-level error with a machine-readable code in `extensions.code`."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.extensions = {"code": self.code, **extensions}


class InvalidInputError(ClientError):
    code = "INVALID_INPUT"


class ForbiddenError(ClientError):
    code = "FORBIDDEN"


class RateLimitedError(ClientError):
    """Too many attempts; `extensions.retryAfter` gives the seconds to wait."""

    code = "RATE_LIMITED"


def is_expected(error: GraphQLError) -> bool:
    """True for coded errors and for parse, validation and variable errors.

    Parse and validation errors carry no exception; graphql-core's variable coercion errors carry
    the GraphQLError that described the invalid value.
    """
    if error.extensions and "code" in error.extensions:
        return True
    return error.original_error is None or isinstance(error.original_error, GraphQLError)


class MaskUnexpectedErrors(MaskErrors):
    """Replace uncoded exceptions with a generic message and the INTERNAL_SERVER_ERROR code."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not is_expected(error), error_message=INTERNAL_ERROR_MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
        return masked


def log_errors(errors: list[GraphQLError]) -> None:
    """Log refusals quietly and unexpected exceptions with their traceback."""
    for error in errors:
        if is_expected(error):
            logger.debug("GraphQL request rejected: %s", error.message)
        else:
            original = error.original_error
            logger.error(
                "Unexpected error in %s: %s",
                ".".join(str(part) for part in error.path or ()) or "request",
                error.message,
                exc_info=(type(original), original, original.__traceback__) if original else None,
            )
