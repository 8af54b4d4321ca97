"""Several server processes on one PostgreSQL database, and a delivery worker killed mid-batch.

These run only against PostgreSQL: SQLite is the embedded default for a single process.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope

from tests.conftest import database_kind
from tests.support import Mailbox, SmtpServer
from tests.test_server_process import (
    create_acme,
    CONSOLE_USERS,
    WAIT_SECONDS,
    close_clients,
    run_cli,
    running_server,
    server_environment,
    stop_process,
)

pytestmark = pytest.mark.skipif(database_kind() != "postgres", reason="several processes share one PostgreSQL database")

INVITATIONS_PER_INSTANCE = 10
# Short, so that a killed worker's claim lapses quickly.
LEASE_SECONDS = "5"


class HoldingMailbox(Mailbox):
    """A mailbox that stalls chosen recipients at RCPT until `release` is set (at most WAIT_SECONDS)."""

    def __init__(self, stalled: set[str]) -> None:
        super().__init__()
        self.stalled = stalled
        self.release = asyncio.Event()
        self.holding = asyncio.Event()

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Envelope, address: str, options: list[str]) -> str:
        if address in self.stalled and not self.release.is_set():
            self.holding.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), WAIT_SECONDS)
        return await super().handle_RCPT(server, session, envelope, address, options)


async def settle(mailbox: Mailbox, expected: int) -> None:
    """Wait until `expected` messages arrived, then a little longer so that duplicates would show."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while len(mailbox.messages) < expected and loop.time() < deadline:
        await asyncio.sleep(0.1)
    # Several delivery rounds of every process (DELIVERY_POLL_SECONDS is 0.2 in these tests).
    await asyncio.sleep(1.5)


@contextlib.asynccontextmanager
async def worker_process(environment: dict[str, str], cwd: Path, name: str) -> AsyncIterator[asyncio.subprocess.Process]:
    with (cwd / f"{name}.log").open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            str(CONSOLE_USERS), "worker", env=environment, cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=asyncio.subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        await stop_process(process)


async def test_two_instances_deliver_each_once(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    mailbox = smtp_server.mailbox
    mailbox.clear()
    environment = server_environment(await fresh_database_url(), smtp_server.port)

    async with running_server(environment, tmp_path) as first, running_server(environment, tmp_path) as second:
        owner, colleague = first.client(), second.client()
        try:
            await create_acme(environment, tmp_path, mailbox, owner)
            # Sessions live in the database, so the owner signs in on the second instance too.
            assert (await colleague.login("olivia@acme.example"))["errors"] == []

            addresses = [f"hire{number}@acme.example" for number in range(2 * INVITATIONS_PER_INSTANCE)]
            results = await asyncio.gather(*[
                (owner if number % 2 else colleague).invite(address, "READ_ONLY")
                for number, address in enumerate(addresses)
            ])
            assert all(result["errors"] == [] for result in results)

            await settle(mailbox, 1 + len(addresses))

            received = Counter(message["To"] for message in mailbox.messages)
            assert received == Counter({"olivia@acme.example": 1, **{address: 1 for address in addresses}})
            message_ids = [message["Message-ID"] for message in mailbox.messages]
            assert len(set(message_ids)) == len(message_ids)
        finally:
            await close_clients(owner, colleague)


async def test_killed_worker_loses_no_mail(
    fresh_database_url: Callable[[], Awaitable[str]], tmp_path: Path
) -> None:
    owners = [f"owner{number}@slow.example" for number in range(5)]
    mailbox = HoldingMailbox(stalled=set(owners))
    smtp = SmtpServer(mailbox)
    await smtp.start()
    try:
        environment = server_environment(
            await fresh_database_url(), smtp.port, DELIVERY_LEASE_SECONDS=LEASE_SECONDS
        )
        migrated = await run_cli(["migrate"], environment, tmp_path)
        assert migrated.returncode == 0, migrated.stderr
        # The command line queues mail without delivering it: five invitations wait in the outbox.
        for number, address in enumerate(owners):
            created = await run_cli(
                ["create-organization", "--name", f"Slow {number}", "--owner-email", address], environment, tmp_path
            )
            assert created.returncode == 0, created.stderr

        async with worker_process(environment, tmp_path, "doomed") as doomed:
            # The worker claims the whole batch and stalls on the first recipient; kill it there.
            await asyncio.wait_for(mailbox.holding.wait(), WAIT_SECONDS)
            doomed.send_signal(signal.SIGKILL)
            await doomed.wait()
            assert doomed.returncode == -signal.SIGKILL
        assert mailbox.messages == []

        mailbox.release.set()
        async with worker_process(environment, tmp_path, "successor"):
            # The successor can claim only once the dead worker's lease has lapsed.
            await settle(mailbox, len(owners))

        assert Counter(message["To"] for message in mailbox.messages) == Counter({address: 1 for address in owners})
    finally:
        mailbox.release.set()
        await smtp.stop()
