"""The GraphQL schema: types, inputs, payloads, permissions, and its assembly."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.account import AccountMutation, AccountQuery
from schema.api_tokens import ApiTokenRateLimit, ApiTokensMutation, ApiTokensQuery
from schema.errors import MaskUnexpectedErrors, log_errors
from schema.limits import SchemaOptions, code_token_limit_errors, limit_extensions, remove_suggestions
from schema.mutation import UsersMutation
from schema.query import UsersQuery
from schema.redaction import mask_unexpected, redact_secrets, secret_values
from schema.scalars import DATETIME_SCALAR


# Each capability contributes its own classes; list new ones among the bases.
@strawberry.type
class Query(UsersQuery, ApiTokensQuery, AccountQuery):
    pass


@strawberry.type
class Mutation(UsersMutation, ApiTokensMutation, AccountMutation):
    pass


class ConsoleSchema(strawberry.Schema):
    # Set by build_schema; the document limits and what error messages may reveal.
    options = SchemaOptions()

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # Every error passes through here before it is returned, so secrets are redacted before logging.
        code_token_limit_errors(errors, self.options.max_tokens)
        if not self.options.field_suggestions:
            remove_suggestions(errors)
        if execution_context is not None:
            redact_secrets(errors, secret_values(execution_context.variables, execution_context.graphql_document))
        log_errors(errors)
        mask_unexpected(errors)


def build_schema(options: SchemaOptions = SchemaOptions()) -> ConsoleSchema:
    extensions: list[Any] = [
        *limit_extensions(options),
        ParserCache,
        ValidationCache,
        ApiTokenRateLimit,
        MaskUnexpectedErrors,
    ]
    built = ConsoleSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(scalar_map={datetime: DATETIME_SCALAR}),
    )
    built.options = options
    return built


@functools.cache
def schema_for(options: SchemaOptions) -> ConsoleSchema:
    """Return the schema for `options`, built once per distinct set of options in a process."""
    return build_schema(options)


# The SDL is the same under any options; the server itself uses schema_for(its options).
schema = schema_for(SchemaOptions())
