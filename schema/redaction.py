"""Redaction of GraphQL errors: no secret from the request, and nothing of an unexpected failure.

graphql-core's messages about invalid variables quote the value they got, for example
"Expected value of type 'AcceptInvitationInput' not to include unknown field 'x', found: {...}"
with the whole input, password and token included. Before an error is logged or returned, every
value that the request passed under a secret-sounding name (see SECRET_NAME) is replaced in its
message, in each form graphql-core prints it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from graphql import ArgumentNode, DocumentNode, GraphQLError, ObjectFieldNode, StringValueNode, Visitor, visit
from graphql.pyutils.inspect import trunc_str

from schema.errors import INTERNAL_ERROR_MESSAGE, is_expected

# Argument, input field and variable names whose values are secrets.
SECRET_NAME = re.compile(r"password|token|secret", re.IGNORECASE)
REDACTED = "[REDACTED]"
# NOTE: shorter values are not redacted, because replacing one to three characters would garble
# every message and hide almost nothing.
MIN_SECRET_LENGTH = 4


def secret_values(variables: Mapping[str, Any] | None, document: DocumentNode | None) -> set[str]:
    """Collect the values passed under secret names, in the variables and as literals in the document."""
    found: set[str] = set()
    _collect_from_variables(variables or {}, False, found)
    if document is not None:
        visit(document, _SecretLiteralCollector(found))
    return found


def _collect_from_variables(value: Any, secret: bool, found: set[str]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _collect_from_variables(item, secret or bool(SECRET_NAME.search(str(key))), found)
    elif isinstance(value, list):
        for item in value:
            _collect_from_variables(item, secret, found)
    elif secret and value is not None and not isinstance(value, bool):
        found.add(str(value))


class _SecretLiteralCollector(Visitor):
    """Collect string literals given to arguments or input fields with secret names."""

    def __init__(self, found: set[str]) -> None:
        super().__init__()
        self.found = found

    def enter_argument(self, node: ArgumentNode, *_args: object) -> None:
        self._collect(node.name.value, node.value)

    def enter_object_field(self, node: ObjectFieldNode, *_args: object) -> None:
        self._collect(node.name.value, node.value)

    def _collect(self, name: str, value: object) -> None:
        if SECRET_NAME.search(name) and isinstance(value, StringValueNode):
            self.found.add(value.value)


def printed_forms(secret: str) -> set[str]:
    """Return the ways a message may show `secret`: as is, escaped by repr or JSON, or cut short."""
    forms = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1]}
    # graphql-core's inspect() shortens long strings to their head and tail around "...".
    shortened = trunc_str(repr(secret))
    if "..." in shortened:
        head, _, tail = shortened.partition("...")
        forms.update((head[1:], tail[:-1]))
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def redact_secrets(errors: Iterable[GraphQLError], secrets: set[str]) -> None:
    """Replace every printed form of each secret in the errors' messages."""
    forms = sorted({form for secret in secrets for form in printed_forms(secret)}, key=len, reverse=True)
    if not forms:
        return
    for error in errors:
        for form in forms:
            if form in error.message:
                error.message = error.message.replace(form, REDACTED)


def mask_unexpected(errors: Iterable[GraphQLError]) -> None:
    """Give uncoded exceptions the generic message and the INTERNAL_SERVER_ERROR code, in place.

    MaskErrors does the same for resolver errors, but an exception raised inside another
    extension's hook skips MaskErrors, while every error passes through Schema.process_errors.
    """
    for error in errors:
        if not is_expected(error):
            error.message = INTERNAL_ERROR_MESSAGE
            error.extensions = {"code": "INTERNAL_SERVER_ERROR"}
