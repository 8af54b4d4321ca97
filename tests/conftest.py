"""Fixtures: one database per test run (SQLite file or PostgreSQL), a real SMTP server, clients.

Select the database with TEST_DATABASE=sqlite (default) or TEST_DATABASE=postgres; the
PostgreSQL server is TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from tortoise import Tortoise
from tortoise.contrib.test import truncate_all_models
from tortoise.transactions import in_transaction

from console_users.app import create_app
from console_users.database import apply_migrations, tortoise_config
from console_users.settings import RateLimit, Settings, SmtpSecurity
from mailer.delivery import deliver_due_messages
from resolvers.credentials import use_password_hasher
from models import Role
from resolvers import activity
from resolvers.invitations import invite_into
from resolvers.organizations import create_organization
from tests.support import PASSWORD, GraphQLClient, Mailbox, SmtpServer

DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432"


def database_kind() -> str:
    kind = os.environ.get("TEST_DATABASE", "sqlite")
    if kind not in ("sqlite", "postgres"):
        raise pytest.UsageError(f"TEST_DATABASE={kind!r}; use sqlite or postgres")
    return kind


class PostgresDatabases:
    """Creates and drops uniquely named databases on the test PostgreSQL server."""

    def __init__(self) -> None:
        self.server_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL).rstrip("/")

    async def create(self) -> str:
        name = f"console_users_test_{uuid.uuid4().hex[:12]}"
        connection = await asyncpg.connect(f"{self.server_url}/postgres")
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return f"{self.server_url}/{name}"

    async def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        connection = await asyncpg.connect(f"{self.server_url}/postgres")
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


@pytest_asyncio.fixture(scope="session")
async def fresh_database_url() -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """A factory of empty databases of the selected kind; all are removed at the end."""
    created: list[str] = []
    postgres = PostgresDatabases()
    directory = tempfile.TemporaryDirectory(prefix="console-users-tests-")

    async def make() -> str:
        if database_kind() == "postgres":
            url = await postgres.create()
        else:
            url = f"sqlite://{Path(directory.name) / uuid.uuid4().hex}.sqlite3"
        created.append(url)
        return url

    yield make
    if database_kind() == "postgres":
        for url in created:
            await postgres.drop(url)
    directory.cleanup()


@pytest_asyncio.fixture(scope="session")
async def smtp_server() -> AsyncIterator[SmtpServer]:
    server = SmtpServer(Mailbox())
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="session")
async def database_url(fresh_database_url: Callable[[], Awaitable[str]]) -> str:
    return await fresh_database_url()


@pytest.fixture(scope="session")
def settings(database_url: str, smtp_server: SmtpServer) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_security=SmtpSecurity.NONE,
        smtp_timeout_seconds=5,
        mail_from="Acme Console <console@acme.example>",
        console_url="https://console.test",
        # Every test client comes from 127.0.0.1, and the race tests accept hundreds of invitations
        # in one test, so the per-address limits are raised here. Every other limit keeps its
        # default, and tests/test_abuse_limits.py sets low limits to test each one.
        rate_limit_login_per_address=RateLimit(10_000, 60),
        rate_limit_accept_per_address=RateLimit(10_000, 60),
    )


@pytest_asyncio.fixture(scope="session")
async def orm(settings: Settings) -> AsyncIterator[None]:
    """Migrate the run's database once and keep the ORM open for the whole session."""
    use_password_hasher(PasswordHasher.from_parameters(CHEAPEST))
    await apply_migrations(settings)
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)
    yield
    await Tortoise.close_connections()


@pytest_asyncio.fixture
async def db(orm: None, smtp_server: SmtpServer) -> AsyncIterator[None]:
    """An empty database and an empty mailbox for each test."""
    await truncate_all_models()
    smtp_server.mailbox.clear()
    if smtp_server.server is None:
        await smtp_server.start()
    yield


@pytest.fixture
def mailbox(smtp_server: SmtpServer) -> Mailbox:
    return smtp_server.mailbox


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    return create_app(settings, manage_database=False, deliver_mail=False)


@pytest_asyncio.fixture
async def new_client(db: None, app) -> AsyncIterator[Callable[[], GraphQLClient]]:  # type: ignore[no-untyped-def]
    """A factory of clients, each with its own cookies, like separate browsers."""
    opened: list[httpx.AsyncClient] = []

    def make() -> GraphQLClient:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://console.test")
        opened.append(http)
        return GraphQLClient(http)

    yield make
    for http in opened:
        await http.aclose()


@pytest.fixture
def deliver(settings: Settings) -> Callable[[], Awaitable[int]]:
    """Run one delivery round, as the loop inside `serve` would."""

    async def run() -> int:
        return await deliver_due_messages(settings, "test-worker")

    return run


@dataclass
class Team:
    """An organization with an owner, a second Admin and a Read-Only member, all signed in."""

    organization_id: str
    owner: GraphQLClient
    owner_id: str
    admin: GraphQLClient
    admin_id: str
    reader: GraphQLClient
    reader_id: str
    anonymous: GraphQLClient


async def join(
    inviter: GraphQLClient, new_client: Callable[[], GraphQLClient], mailbox: Mailbox,
    deliver: Callable[[], Awaitable[int]], address: str, role: str, name: str,
) -> tuple[GraphQLClient, str]:
    """Invite an address, deliver the mail, and accept from a fresh client; return it and the user id."""
    invited = await inviter.invite(address, role)
    assert invited["errors"] == [], invited
    await deliver()
    client = new_client()
    accepted = await client.accept(mailbox.invitation_token(address), name)
    assert accepted["errors"] == [], accepted
    return client, invited["user"]["id"]


async def organization_with_one_active_admin(
    settings: Settings, new_client: Callable[[], GraphQLClient]
) -> tuple[GraphQLClient, str]:
    """Build "Solo", whose owner never accepted, and sign in its only ACTIVE Admin, who is not the owner."""
    organization, _ = await create_organization(settings, "Solo", "sam@solo.example")
    async with in_transaction() as connection:
        issued = await invite_into(
            connection, settings, organization,
            email="ada@solo.example", role=Role.ADMIN, author=activity.SYSTEM, inviter_name=None,
        )
    admin = new_client()
    accepted = await admin.accept(issued.token, "Ada Admin")
    assert accepted["errors"] == [], accepted
    return admin, str(issued.membership.id)


@pytest_asyncio.fixture
async def team(settings: Settings, new_client, mailbox: Mailbox, deliver) -> Team:  # type: ignore[no-untyped-def]
    organization, invitation = await create_organization(settings, "Acme", "olivia@acme.example")
    owner = new_client()
    accepted = await owner.accept(invitation.token, "Olivia Owner", PASSWORD)
    assert accepted["errors"] == [], accepted
    admin, admin_id = await join(owner, new_client, mailbox, deliver, "adam@acme.example", "ADMIN", "Adam Admin")
    reader, reader_id = await join(owner, new_client, mailbox, deliver, "rita@acme.example", "READ_ONLY", "Rita Reader")
    mailbox.clear()
    return Team(
        organization_id=str(organization.id),
        owner=owner,
        owner_id=str(invitation.membership.id),
        admin=admin,
        admin_id=admin_id,
        reader=reader,
        reader_id=reader_id,
        anonymous=new_client(),
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List dangerous schema changes against the published contract at the end of every run."""
    from tests.test_schema_contract import dangerous_changes

    changes = dangerous_changes()
    if changes:
        terminalreporter.write_sep("-", "dangerous changes against contract/published-schema.graphql")
        for change in changes:
            terminalreporter.write_line(change)
