"""The `console-users` commands, each run as a subprocess against a fresh database.

Results are read through the command's own output, the test mailbox, a running `serve` process,
or the plain database driver (sqlite3 or asyncpg), never through the fixtures' Tortoise
connections, which point at another database.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from schema import schema
from tests.support import TOKEN_PATTERN, VIEWER, GraphQLClient, Mailbox, SmtpServer, text_of
from tests.test_server_process import (
    CONSOLE_USERS,
    WAIT_SECONDS,
    CommandResult,
    ServerProcess,
    close_clients,
    free_port,
    run_cli,
    running_server,
    server_environment,
    stop_process,
    wait_for_mail,
)

ROOT = Path(__file__).resolve().parent.parent
EXPORTED_SCHEMA = ROOT / "schema.graphql"

LATEST_ACTIVITY = "{ activity(first: 1) { edges { node { action actor { email } subject { email } description } } } }"


async def fetch_rows(database_url: str, query: str) -> list[tuple[Any, ...]]:
    """Run a read-only query with the plain driver of the database."""
    if database_url.startswith("sqlite://"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite://"))) as connection:
            return connection.execute(query).fetchall()
    connection = await asyncpg.connect(database_url)
    try:
        return [tuple(record) for record in await connection.fetch(query)]
    finally:
        await connection.close()


def error_lines(stderr: str) -> list[str]:
    """Return the `error: ...` lines of a command's stderr, leaving out its log lines."""
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


async def count_rows(database_url: str, table: str) -> int:
    rows = await fetch_rows(database_url, f"SELECT count(*) FROM {table}")
    return int(rows[0][0])


@dataclass
class CliDatabase:
    """A fresh, migrated database and the environment that points the CLI at it."""

    url: str
    environment: dict[str, str]
    cwd: Path

    async def run(self, *arguments: str) -> CommandResult:
        return await run_cli(list(arguments), self.environment, self.cwd)

    async def create_organization(self, name: str = "Acme", owner_email: str = "olivia@acme.example") -> str:
        created = await self.run("create-organization", "--name", name, "--owner-email", owner_email)
        assert created.returncode == 0, created.stderr
        return created.stdout.strip()


@pytest_asyncio.fixture
async def database(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> CliDatabase:
    url = await fresh_database_url()
    database = CliDatabase(url, server_environment(url, smtp_server.port), tmp_path)
    migrated = await database.run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    return database


async def test_migrate_twice_is_idempotent(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = await fresh_database_url()
    environment = server_environment(url, smtp_server.port)

    first = await run_cli(["migrate"], environment, tmp_path)
    assert first.returncode == 0, first.stderr
    applied = await count_rows(url, "tortoise_migrations")

    second = await run_cli(["migrate"], environment, tmp_path)
    assert second.returncode == 0, second.stderr

    assert applied >= 1
    assert await count_rows(url, "tortoise_migrations") == applied
    for table in ("organizations", "memberships", "accounts", "sessions", "outbox_messages", "activity_events"):
        assert await count_rows(url, table) == 0, table


async def test_create_organization_queues_owner_invitation(database: CliDatabase) -> None:
    created = await database.run("create-organization", "--name", " Acme ", "--owner-email", "Olivia@Acme.example")

    assert created.returncode == 0, created.stderr
    organization_id = created.stdout.strip()
    assert organization_id.isdigit(), created.stdout

    organizations = await fetch_rows(database.url, "SELECT id, name, owner_user_id FROM organizations")
    members = await fetch_rows(database.url, "SELECT id, organization_id, email, role, status FROM memberships")
    messages = await fetch_rows(database.url, "SELECT organization_id, kind, to_address, status FROM outbox_messages")
    assert len(organizations) == 1
    assert len(members) == 1
    owner_row_id = members[0][0]
    assert organizations[0] == (int(organization_id), "Acme", owner_row_id)
    assert members[0][1:] == (int(organization_id), "olivia@acme.example", "admin", "invited")
    assert messages == [(int(organization_id), "invitation", "olivia@acme.example", "queued")]


@pytest.mark.parametrize("owner_email", ["not-an-address", "olivia@", "olivia@acme.example\nBcc: x@acme.example"])
async def test_create_organization_rejects_invalid_email(database: CliDatabase, owner_email: str) -> None:
    created = await database.run("create-organization", "--name", "Acme", "--owner-email", owner_email)

    assert created.returncode == 2
    assert created.stdout == ""
    errors = error_lines(created.stderr)
    assert len(errors) == 1, created.stderr
    assert "not a valid email address" in errors[0]
    assert "Traceback" not in created.stderr
    for table in ("organizations", "memberships", "outbox_messages"):
        assert await count_rows(database.url, table) == 0, table


async def test_notify_owner_queues_message_to_owner(database: CliDatabase) -> None:
    organization_id = await database.create_organization()
    body_file = database.cwd / "notice.txt"
    body_file.write_text("The console is read-only on Saturday from 02:00 to 04:00 UTC.\n", encoding="utf-8")

    notified = await database.run(
        "notify-owner", "--organization", organization_id, "--subject", "Planned maintenance", "--body-file", str(body_file)
    )

    assert notified.returncode == 0, notified.stderr
    notices = await fetch_rows(
        database.url,
        "SELECT organization_id, to_address, subject, status, text_body FROM outbox_messages WHERE kind = 'owner_notice'",
    )
    assert len(notices) == 1
    assert notices[0][:4] == (int(organization_id), "olivia@acme.example", "[Acme] Planned maintenance", "queued")
    assert "read-only on Saturday" in notices[0][4]


async def test_notify_owner_rejects_unreadable_body_file(database: CliDatabase) -> None:
    organization_id = await database.create_organization()
    missing = database.cwd / "missing.txt"

    notified = await database.run(
        "notify-owner", "--organization", organization_id, "--subject", "Hello", "--body-file", str(missing)
    )

    assert notified.returncode == 2
    errors = error_lines(notified.stderr)
    assert len(errors) == 1, notified.stderr
    assert str(missing) in errors[0]
    # Only the owner's invitation is queued.
    assert await count_rows(database.url, "outbox_messages") == 1


async def test_notify_owner_rejects_unknown_organization(database: CliDatabase) -> None:
    body_file = database.cwd / "notice.txt"
    body_file.write_text("Hello.\n", encoding="utf-8")

    notified = await database.run("notify-owner", "--organization", "999", "--subject", "Hello", "--body-file", str(body_file))

    assert notified.returncode == 2
    errors = error_lines(notified.stderr)
    assert len(errors) == 1, notified.stderr
    assert "999" in errors[0]
    assert "Traceback" not in notified.stderr


async def test_worker_delivers_queued_mail_then_stops(database: CliDatabase, smtp_server: SmtpServer) -> None:
    mailbox = smtp_server.mailbox
    mailbox.clear()
    organization_id = await database.create_organization()
    body_file = database.cwd / "notice.txt"
    body_file.write_text("Your invoice is ready.\n", encoding="utf-8")
    notified = await database.run(
        "notify-owner", "--organization", organization_id, "--subject", "Invoice", "--body-file", str(body_file)
    )
    assert notified.returncode == 0, notified.stderr

    worker = await asyncio.create_subprocess_exec(
        str(CONSOLE_USERS), "worker",
        env=database.environment, cwd=database.cwd,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        delivered = await wait_for_mail(mailbox, "olivia@acme.example", count=2)
        worker.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(worker.wait(), WAIT_SECONDS)
    finally:
        await stop_process(worker)

    assert worker.returncode == 0
    subjects = sorted(str(message["Subject"]) for message in delivered)
    assert len(subjects) == 2
    assert "[Acme] Invoice" in subjects
    assert TOKEN_PATTERN.search(text_of(delivered[0]) + text_of(delivered[1])) is not None
    statuses = await fetch_rows(database.url, "SELECT status FROM outbox_messages")
    assert statuses == [("sent",), ("sent",)]


@dataclass
class ServedTeam:
    """An organization run by a `serve` process: an active owner, an active Admin (Adam), an
    active Read-Only user (Rita) and an Admin who was invited but has not accepted (Ivan)."""

    server: ServerProcess
    database: CliDatabase
    mailbox: Mailbox
    organization_id: str
    owner: GraphQLClient


@pytest_asyncio.fixture
async def served_team(database: CliDatabase, smtp_server: SmtpServer) -> AsyncIterator[ServedTeam]:
    mailbox = smtp_server.mailbox
    mailbox.clear()
    async with running_server(database.environment, database.cwd) as server:
        clients: list[GraphQLClient] = []
        try:
            organization_id = await database.create_organization()
            await wait_for_mail(mailbox, "olivia@acme.example")
            owner = server.client()
            clients.append(owner)
            accepted = await owner.accept(mailbox.invitation_token("olivia@acme.example"), "Olivia Owner")
            assert accepted["errors"] == [], accepted

            for address, role, name in (
                ("adam@acme.example", "ADMIN", "Adam Admin"),
                ("rita@acme.example", "READ_ONLY", "Rita Reader"),
                ("ivan@acme.example", "ADMIN", None),
            ):
                invited = await owner.invite(address, role)
                assert invited["errors"] == [], invited
                await wait_for_mail(mailbox, address)
                if name is None:
                    continue
                member = server.client()
                clients.append(member)
                joined = await member.accept(mailbox.invitation_token(address), name)
                assert joined["errors"] == [], joined

            yield ServedTeam(server, database, mailbox, organization_id, owner)
        finally:
            await close_clients(*clients)


@pytest.mark.parametrize(
    ("target", "named_as"),
    [
        ("rita@acme.example", "Rita Reader"),
        ("ivan@acme.example", "ivan@acme.example"),
        ("olivia@acme.example", "Olivia Owner"),
        ("nobody@acme.example", "nobody@acme.example"),
    ],
    ids=["active-read-only", "invited-admin", "current-owner", "not-a-member"],
)
async def test_transfer_ownership_rejects_ineligible_target(served_team: ServedTeam, target: str, named_as: str) -> None:
    transferred = await served_team.database.run(
        "transfer-ownership", "--organization", served_team.organization_id, "--to-email", target, "--reason", "Owner left"
    )

    assert transferred.returncode == 2
    assert transferred.stdout == ""
    errors = error_lines(transferred.stderr)
    assert len(errors) == 1, transferred.stderr
    assert named_as in errors[0]
    assert "Traceback" not in transferred.stderr
    viewer = (await served_team.owner.data(VIEWER))["viewer"]
    assert viewer["organization"]["owner"]["email"] == "olivia@acme.example"


async def test_transfer_ownership_to_active_admin(served_team: ServedTeam) -> None:
    mailbox = served_team.mailbox

    transferred = await served_team.database.run(
        "transfer-ownership", "--organization", served_team.organization_id,
        "--to-email", " Adam@Acme.example ", "--reason", "Olivia left the company",
    )

    assert transferred.returncode == 0, transferred.stderr
    viewer = (await served_team.owner.data(VIEWER))["viewer"]
    assert viewer["organization"]["owner"]["email"] == "adam@acme.example"
    assert viewer["user"]["isOwner"] is False
    event = (await served_team.owner.data(LATEST_ACTIVITY))["activity"]["edges"][0]["node"]
    assert event["action"] == "OWNERSHIP_TRANSFERRED"
    assert event["actor"] is None
    assert event["subject"] == {"email": "adam@acme.example"}
    assert "Olivia left the company" in event["description"]
    # The serve process mails a notice to each side, after the invitation that each already received.
    assert len(await wait_for_mail(mailbox, "adam@acme.example", count=2)) == 2
    assert len(await wait_for_mail(mailbox, "olivia@acme.example", count=2)) == 2

    # notify-owner writes to the current owner of the organization.
    body_file = served_team.database.cwd / "notice.txt"
    body_file.write_text("Please review the billing contact.\n", encoding="utf-8")
    notified = await served_team.database.run(
        "notify-owner", "--organization", served_team.organization_id, "--subject", "Billing", "--body-file", str(body_file)
    )
    assert notified.returncode == 0, notified.stderr
    adam_mail = await wait_for_mail(mailbox, "adam@acme.example", count=3)
    assert adam_mail[-1]["Subject"] == "[Acme] Billing"
    assert [message["Subject"] for message in mailbox.to("olivia@acme.example")].count("[Acme] Billing") == 0


def expected_sdl() -> str:
    """Return the committed SDL when the checkout has one, else the SDL of the code."""
    if EXPORTED_SCHEMA.exists():
        return EXPORTED_SCHEMA.read_text(encoding="utf-8")
    return schema.as_str() + "\n"


async def test_export_schema_to_stdout(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    environment = server_environment(await fresh_database_url(), smtp_server.port)

    exported = await run_cli(["export-schema", "--output", "-"], environment, tmp_path)

    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == expected_sdl()


async def test_export_schema_to_file(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    environment = server_environment(await fresh_database_url(), smtp_server.port)
    output = tmp_path / "exported.graphql"

    exported = await run_cli(["export-schema", "--output", str(output)], environment, tmp_path)

    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == ""
    assert output.read_text(encoding="utf-8") == expected_sdl()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SMTP_PORT", "abc"),
        ("SMTP_PORT", "0"),
        ("SMTP_SECURITY", "ssl"),
        ("DATABASE_URL", "mysql://x"),
        ("CONSOLE_URL", "console.test"),
        ("MAIL_FROM", "nobody"),
        ("INVITATION_TTL_SECONDS", "ten"),
        ("SESSION_COOKIE_SECURE", "maybe"),
        ("DELIVERY_POLL_SECONDS", "0"),
        ("GRAPHIQL", "perhaps"),
    ],
)
async def test_bad_setting_stops_serve(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path, variable: str, value: str
) -> None:
    environment = server_environment(await fresh_database_url(), smtp_server.port, **{variable: value})

    started = await run_cli(["serve", "--host", "127.0.0.1", "--port", str(free_port())], environment, tmp_path)

    assert started.returncode == 2
    assert variable in started.stderr
    assert "Traceback" not in started.stderr
