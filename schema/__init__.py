"""The GraphQL schema: types, inputs, payloads, permissions, and its assembly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, ParserCache, QueryDepthLimiter, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.api_tokens import ApiTokenRateLimit, ApiTokensMutation, ApiTokensQuery
from schema.errors import MaskUnexpectedErrors, log_errors
from schema.mutation import UsersMutation
from schema.query import UsersQuery
from schema.scalars import DATETIME_SCALAR


# Each capability contributes its own classes; list new ones among the bases.
@strawberry.type
class Query(UsersQuery, ApiTokensQuery):
    pass


@strawberry.type
class Mutation(UsersMutation, ApiTokensMutation):
    pass


class ConsoleSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        log_errors(errors)


def build_schema() -> ConsoleSchema:
    extensions: list[Any] = [
        lambda: QueryDepthLimiter(max_depth=10),
        lambda: MaxAliasesLimiter(max_alias_count=15),
        ParserCache,
        ValidationCache,
        ApiTokenRateLimit,
        MaskUnexpectedErrors,
    ]
    return ConsoleSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(scalar_map={datetime: DATETIME_SCALAR}),
    )


schema = build_schema()
