"""Schemathesis fuzzes every field of the exported schema.graphql against a real `serve` process.

It runs twice, signed in as an Admin (the owner of one organization) and as a Read-Only member of
another, so that neither run can remove or demote the other's user. Each run has a fixed seed and
sends at least MIN_REQUESTS requests, valid and invalid ones. No response may be a 5xx or carry
INTERNAL_SERVER_ERROR, and the server may log no unexpected error. The mutations that end the
client's own session (SESSION_ENDING) are left out; all other fields are fuzzed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.support import ACCEPT, GraphQLClient, SmtpServer
from tests.test_server_process import (
    ServerProcess,
    WAIT_SECONDS,
    close_clients,
    run_cli,
    running_server,
    server_environment,
    stop_process,
    wait_for_mail,
)

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schema.graphql"
SEED = 20261204
EXAMPLES_PER_FIELD = 40
MIN_REQUESTS = 500
# Mutations that end the fuzzing client's own session on purpose; list new ones here.
SESSION_ENDING = r"^Mutation\.(logout|signOutEverywhere)$"
# An upper bound on one run, after which it is stopped.
RUN_SECONDS = 300


async def signed_in_member(server: ServerProcess, environment: dict[str, str], smtp: SmtpServer, folder: Path,
                           organization: str, owner_email: str, reader_email: str | None = None) -> GraphQLClient:
    """Create an organization; return its owner, or with `reader_email` a Read-Only member, signed in."""
    created = await run_cli(["create-organization", "--name", organization, "--owner-email", owner_email], environment, folder)
    assert created.returncode == 0, created.stderr
    await wait_for_mail(smtp.mailbox, owner_email)
    owner = server.client()
    accepted = await owner.accept(smtp.mailbox.invitation_token(owner_email), "Owner", "owner passphrase 1")
    assert accepted["errors"] == [], accepted
    if reader_email is None:
        return owner
    invited = await owner.invite(reader_email, "READ_ONLY")
    assert invited["errors"] == [], invited
    await wait_for_mail(smtp.mailbox, reader_email)
    reader = server.client()
    joined = await reader.data(ACCEPT, {"input": {"token": smtp.mailbox.invitation_token(reader_email), "name": "Reader", "password": "reader passphrase 1"}})
    assert joined["acceptInvitation"]["errors"] == [], joined
    await close_clients(owner)
    return reader


async def fuzz(url: str, cookie: str, report: Path) -> tuple[int | None, str]:
    """Run Schemathesis against `url` with the session cookie; return its exit status and output."""
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS), "run", str(SCHEMA),
        "--url", url,
        "--header", f"Cookie: session={cookie}",
        "--seed", str(SEED),
        "--max-examples", str(EXAMPLES_PER_FIELD),
        "--phases", "fuzzing",
        # tests/fuzz_checks.py defines the check that runs instead.
        "--exclude-checks", "not_a_server_error",
        "--exclude-name-regex", SESSION_ENDING,
        "--workers", "1",
        "--no-shrink",
        "--request-timeout", "20",
        "--report", "har", "--report-har-path", str(report),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(report.parent),
            "PYTHONPATH": str(ROOT),
            "SCHEMATHESIS_HOOKS": "tests.fuzz_checks",
            "SCHEMATHESIS_TELEMETRY": "false",
        },
        cwd=report.parent,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), RUN_SECONDS + WAIT_SECONDS)
    finally:
        await stop_process(process)
    return process.returncode, output.decode(errors="replace")


def har_entries(report: Path) -> list[dict[str, object]]:
    return json.loads(report.read_text(encoding="utf-8"))["log"]["entries"]  # type: ignore[no-any-return]


async def test_fuzzing_finds_no_server_errors(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    smtp_server.mailbox.clear()
    environment = server_environment(await fresh_database_url(), smtp_server.port)

    async with running_server(environment, tmp_path) as server:
        admin = await signed_in_member(server, environment, smtp_server, tmp_path, "Admins Inc", "admin@fuzz.example")
        reader = await signed_in_member(
            server, environment, smtp_server, tmp_path, "Readers Inc", "owner@fuzz.example", "reader@fuzz.example"
        )
        runs = {}
        try:
            for role, client in (("admin", admin), ("reader", reader)):
                report = tmp_path / f"{role}.har"
                runs[role] = (*await fuzz(f"{server.base_url}/graphql", client.http.cookies["session"], report), har_entries(report))
            still_signed_in = [(await client.data("{ viewer { user { role } } }"))["viewer"] for client in (admin, reader)]
        finally:
            await close_clients(admin, reader)
    log = server.log()

    for role, (status, output, entries) in runs.items():
        statuses = [entry["response"]["status"] for entry in entries]  # type: ignore[index]
        bodies = [entry["response"]["content"].get("text", "") for entry in entries]  # type: ignore[index, union-attr]
        print(f"{role}: {len(entries)} requests, {statuses.count(200)} with status 200, exit status {status}")
        assert status == 0, output[-3000:]
        assert len(entries) >= MIN_REQUESTS, role
        assert [code for code in statuses if code >= 500] == [], role
        assert [body for body in bodies if "INTERNAL_SERVER_ERROR" in body] == [], role
    assert still_signed_in == [{"user": {"role": "ADMIN"}}, {"user": {"role": "READ_ONLY"}}]
    assert "Unexpected error" not in log
