"""Helpers of the hardening tests: apps with other settings, raw requests, and error codes.

Import the `client_with` fixture into a test module to use it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest_asyncio

from console_users.app import create_app
from console_users.settings import Settings

BASE_URL = "https://console.test"
JSON = {"Content-Type": "application/json"}
GRAPHQL_RESPONSE = "application/graphql-response+json"

ClientFactory = Callable[..., httpx.AsyncClient]


@pytest_asyncio.fixture
async def client_with(db: None, settings: Settings) -> AsyncIterator[ClientFactory]:
    """A factory of clients of an app whose settings differ from the test settings by `overrides`.

    `cookies` (for example another client's jar) signs the new client in as that client.
    """
    opened: list[httpx.AsyncClient] = []

    def make(cookies: httpx.Cookies | None = None, **overrides: Any) -> httpx.AsyncClient:
        app = create_app(settings.model_copy(update=overrides), manage_database=False, deliver_mail=False)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, cookies=cookies)
        opened.append(http)
        return http

    yield make
    for http in opened:
        await http.aclose()


def codes(body: dict[str, Any]) -> list[str | None]:
    """Return the `extensions.code` of each top-level error."""
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


async def post_json(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    """POST one operation as application/json, with extra headers (underscores become dashes)."""
    extra = {name.replace("_", "-"): value for name, value in headers.items()}
    return await http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=extra)
