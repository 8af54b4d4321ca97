"""The exported SDL and the published contract that clients code against."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema, find_breaking_changes, find_dangerous_changes

from schema import schema

ROOT = Path(__file__).resolve().parent.parent
EXPORTED = ROOT / "schema.graphql"
PUBLISHED = ROOT / "contract" / "published-schema.graphql"


# To publish a new contract on purpose, copy schema.graphql over contract/published-schema.graphql
# in the same commit as the change. A breaking change then shows up in review as a diff of that file.


def test_exported_sdl_matches_code() -> None:
    # Regenerate with: console-users export-schema --output schema.graphql
    assert EXPORTED.read_text(encoding="utf-8") == schema.as_str() + "\n"


def test_no_breaking_changes_from_contract() -> None:
    published = build_schema(PUBLISHED.read_text(encoding="utf-8"))
    current = build_schema(schema.as_str())
    breaking = [f"{change.type.name}: {change.description}" for change in find_breaking_changes(published, current)]
    assert breaking == []


def dangerous_changes() -> list[str]:
    """Describe changes that break no client outright but may surprise one (a new enum value,
    a changed default). tests/conftest.py prints them at the end of every run."""
    published = build_schema(PUBLISHED.read_text(encoding="utf-8"))
    current = build_schema(schema.as_str())
    return [f"{change.type.name}: {change.description}" for change in find_dangerous_changes(published, current)]


def test_dangerous_changes_are_described() -> None:
    assert all(": " in change for change in dangerous_changes())


def test_contract_lists_every_error_code() -> None:
    published = build_schema(PUBLISHED.read_text(encoding="utf-8"))
    codes = published.get_type("UserErrorCode")
    current = build_schema(schema.as_str()).get_type("UserErrorCode")
    assert set(codes.values) <= set(current.values)  # type: ignore[union-attr]
