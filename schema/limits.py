"""Limits on one GraphQL document, checked before execution, and what errors may reveal.

Each refusal is a top-level error with a code in `extensions.code`:

| code | when |
|---|---|
| `QUERY_TOO_DEEP` | a field is nested deeper than MAX_QUERY_DEPTH |
| `TOO_MANY_ALIASES` | the document has more than MAX_QUERY_ALIASES aliased fields |
| `TOO_MANY_TOKENS` | the document has more than MAX_QUERY_TOKENS lexical tokens |
| `INTROSPECTION_DISABLED` | `__schema` or `__type` was asked for while INTROSPECTION is off |

The depth and alias counts expand each fragment once and reuse the result at every spread, so
a document of nested fragment spreads cannot make them take exponential time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, MaxTokensLimiter

from console_users.settings import Settings

# graphql-core 3.3 raises this syntax error when a document has more than `max_tokens` tokens.
TOKEN_LIMIT_MESSAGE = re.compile(r"Document contains more than \d+ tokens\. Parsing aborted\.")
# graphql-core appends " Did you mean 'a', 'b' or 'c'?" to messages about unknown names; the
# quoted names cannot contain a question mark.
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


@dataclass(frozen=True)
class SchemaOptions:
    """The settings that change how the schema checks documents."""

    max_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000
    introspection: bool = False
    field_suggestions: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> SchemaOptions:
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_query_aliases,
            max_tokens=settings.max_query_tokens,
            introspection=settings.introspection,
            field_suggestions=settings.field_suggestions,
        )


class _DocumentShape:
    """Depths and alias counts of the selection sets of one document, each fragment computed once."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.fragment_depths: dict[str, int] = {}
        self.fragment_aliases: dict[str, int] = {}
        # Fragments being expanded right now; a cycle (reported by graphql-core's own rule) counts 0.
        self.expanding: set[str] = set()

    def depth(self, selection_set: SelectionSetNode) -> int:
        """Return how many levels of fields lie below `selection_set`; a leaf field is level 0."""
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                # Introspection fields are not counted, so GraphiQL's schema query always fits.
                if selection.selection_set is not None and not selection.name.value.startswith("__"):
                    deepest = max(deepest, 1 + self.depth(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self._fragment_value(selection.name.value, self.fragment_depths, self.depth))
        return deepest

    def aliases(self, selection_set: SelectionSetNode) -> int:
        """Return the number of aliased fields in `selection_set`, counting each fragment per spread."""
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += 1 if selection.alias is not None else 0
                if selection.selection_set is not None:
                    total += self.aliases(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += self.aliases(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment_value(selection.name.value, self.fragment_aliases, self.aliases)
        return total

    def _fragment_value(self, name: str, cache: dict[str, int], measure: Any) -> int:
        if name in cache:
            return cache[name]
        fragment = self.fragments.get(name)
        # Unknown fragments are reported by graphql-core's KnownFragmentNames rule.
        if fragment is None or name in self.expanding:
            return 0
        self.expanding.add(name)
        try:
            value: int = measure(fragment.selection_set)
        finally:
            self.expanding.discard(name)
        cache[name] = value
        return value


def _operations_and_shape(context: ValidationContext) -> tuple[list[OperationDefinitionNode], _DocumentShape]:
    definitions = context.document.definitions
    fragments = {node.name.value: node for node in definitions if isinstance(node, FragmentDefinitionNode)}
    operations = [node for node in definitions if isinstance(node, OperationDefinitionNode)]
    return operations, _DocumentShape(fragments)


def depth_rule(max_depth: int) -> type[ValidationRule]:
    """Build a validation rule that rejects operations nested deeper than `max_depth` levels."""

    class QueryDepthRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            operations, shape = _operations_and_shape(context)
            for operation in operations:
                depth = shape.depth(operation.selection_set)
                if depth > max_depth:
                    context.report_error(
                        GraphQLError(
                            f"The operation nests fields {depth} levels deep; the maximum is {max_depth}. "
                            "Ask for fewer nested fields, or split the request.",
                            operation,
                            extensions={"code": "QUERY_TOO_DEEP", "maxDepth": max_depth},
                        )
                    )

    return QueryDepthRule


def alias_rule(max_aliases: int) -> type[ValidationRule]:
    """Build a validation rule that rejects documents with more than `max_aliases` aliased fields."""

    class AliasCountRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            operations, shape = _operations_and_shape(context)
            count = sum(shape.aliases(operation.selection_set) for operation in operations)
            if count > max_aliases:
                context.report_error(
                    GraphQLError(
                        f"The document has {count} aliased fields; the maximum is {max_aliases}. "
                        "Send the rest in further requests.",
                        extensions={"code": "TOO_MANY_ALIASES", "maxAliases": max_aliases},
                    )
                )

    return AliasCountRule


class NoIntrospectionRule(ValidationRule):
    """Reject `__schema` and `__type`; `__typename` stays allowed, as the GraphQL spec needs it."""

    def enter_field(self, node: FieldNode, *_args: object) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                GraphQLError(
                    f"Introspection is disabled on this server, so '{node.name.value}' cannot be queried. "
                    "Use the published schema.graphql instead.",
                    node,
                    extensions={"code": "INTROSPECTION_DISABLED"},
                )
            )


def code_token_limit_errors(errors: list[GraphQLError], max_tokens: int) -> None:
    """Give the parser's token-limit error a clear message and the TOO_MANY_TOKENS code."""
    for error in errors:
        if TOKEN_LIMIT_MESSAGE.search(error.message):
            error.message = (
                f"The document has more than {max_tokens} tokens. "
                "Send a shorter query, with variables instead of long literals."
            )
            error.extensions = {"code": "TOO_MANY_TOKENS", "maxTokens": max_tokens}


def limit_extensions(options: SchemaOptions) -> list[Any]:
    """Return the extension factories that enforce `options`, to list before the caches."""
    rules: list[type[ValidationRule]] = [depth_rule(options.max_depth), alias_rule(options.max_aliases)]
    if not options.introspection:
        rules.append(NoIntrospectionRule)
    return [
        lambda: MaxTokensLimiter(max_token_count=options.max_tokens),
        lambda: AddValidationRules(rules),
    ]


def remove_suggestions(errors: list[GraphQLError]) -> None:
    """Cut "Did you mean ...?" hints, which name fields, types and enum values of the schema."""
    for error in errors:
        error.message = SUGGESTION.sub("", error.message)
