"""The GraphQL-over-HTTP audits of the npm package graphql-http, run against a real `serve` process.

`make conformance`, part of `make test`, installs the pinned package from
tests/conformance/package-lock.json; tests/conformance/audit.mjs runs every server audit and prints
the results as JSON. Without Node.js or the installed package these tests are skipped, unless
REQUIRE_CONFORMANCE=1 (as in CI) turns that into a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import SmtpServer
from tests.test_server_process import WAIT_SECONDS, running_server, server_environment, stop_process

CONFORMANCE = Path(__file__).resolve().parent / "conformance"
AUDIT_SCRIPT = CONFORMANCE / "audit.mjs"
INSTALLED_PACKAGE = CONFORMANCE / "node_modules" / "graphql-http" / "package.json"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    (NODE is None or not INSTALLED_PACKAGE.exists()) and os.environ.get("REQUIRE_CONFORMANCE") != "1",
    reason="needs Node.js and `make conformance` (npm ci in tests/conformance)",
)

# The audits that send variables query `__type(name: $name)`, which is introspection. With the
# production default INTROSPECTION=false they get an INTROSPECTION_DISABLED error instead.
INTROSPECTION_AUDITS = {
    "28B9": "error",  # MUST allow map {variables} parameter when accepting application/json
    "2EA1": "warn",  # SHOULD allow map {variables} parameter when accepting application/graphql-response+json
    "6A70": "notice",  # MAY allow URL-encoded JSON string {variables} parameter in GETs (application/json)
    "D6D5": "notice",  # MAY allow URL-encoded JSON string {variables} parameter in GETs (graphql-response+json)
}


async def run_audits(url: str) -> list[dict[str, Any]]:
    assert NODE is not None, "Node.js is not installed; REQUIRE_CONFORMANCE=1 needs it"
    assert INSTALLED_PACKAGE.exists(), "graphql-http is not installed; run `make conformance`"
    process = await asyncio.create_subprocess_exec(
        NODE, str(AUDIT_SCRIPT), url,
        cwd=CONFORMANCE, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), 2 * WAIT_SECONDS)
    finally:
        await stop_process(process)
    assert process.returncode == 0, stderr.decode()
    results: list[dict[str, Any]] = json.loads(stdout)
    return results


def failures(results: list[dict[str, Any]]) -> dict[str, str]:
    return {result["id"]: result["status"] for result in results if result["status"] != "ok"}


async def test_every_audit_passes_with_introspection(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    environment = server_environment(await fresh_database_url(), smtp_server.port, INTROSPECTION="true")

    async with running_server(environment, tmp_path) as server:
        results = await run_audits(f"{server.base_url}/graphql")

    assert len(results) >= 60
    assert failures(results) == {}


async def test_defaults_fail_only_introspection_audits(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    environment = server_environment(await fresh_database_url(), smtp_server.port)

    async with running_server(environment, tmp_path) as server:
        results = await run_audits(f"{server.base_url}/graphql")

    assert failures(results) == INTROSPECTION_AUDITS
