"""A real `console-users serve` process: start-up, the invitation flow over HTTP, and SIGTERM.

The helpers here (`server_environment`, `run_cli`, `running_server`, `wait_for_mail`) are also
imported by the CLI and GraphiQL tests. Every process they start runs against 127.0.0.1 only and
is terminated, then killed after a bounded wait, when the test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx

from tests.support import PASSWORD, TOKEN_PATTERN, VIEWER, GraphQLClient, Mailbox, SmtpServer, text_of

# The script that installing the package puts beside the virtualenv's interpreter.
CONSOLE_USERS = Path(sys.executable).with_name("console-users")
CONSOLE_URL = "https://console.test"
# Upper bound for any one wait: server start-up, a mail arriving, a process exiting.
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.1

USERS = "{ users { totalCount edges { node { email name role status isOwner } } } }"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_environment(database_url: str, smtp_port: int, **overrides: str) -> dict[str, str]:
    """Build the environment of a CLI process: PATH and HOME, the test database and the test SMTP server."""
    environment = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    environment.update(
        DATABASE_URL=database_url,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        SMTP_SECURITY="none",
        CONSOLE_URL=CONSOLE_URL,
        SESSION_COOKIE_SECURE="false",
        DELIVERY_POLL_SECONDS="0.2",
    )
    environment.update(overrides)
    return environment


async def stop_process(process: asyncio.subprocess.Process, grace_seconds: float = 10.0) -> None:
    """Send SIGTERM to a process that is still running, and SIGKILL if it outlives `grace_seconds`."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), grace_seconds)
    except TimeoutError:
        process.kill()
        await process.wait()


@dataclass
class CommandResult:
    returncode: int | None
    stdout: str
    stderr: str


async def run_cli(arguments: list[str], environment: dict[str, str], cwd: Path) -> CommandResult:
    """Run one `console-users` command to completion without blocking the test's event loop.

    `cwd` should be a test's own folder, so that no `.env` file of the checkout is read.
    """
    process = await asyncio.create_subprocess_exec(
        str(CONSOLE_USERS), *arguments,
        env=environment, cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), WAIT_SECONDS)
    finally:
        await stop_process(process)
    return CommandResult(process.returncode, stdout.decode(), stderr.decode())


@dataclass
class ServerProcess:
    process: asyncio.subprocess.Process
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def client(self) -> GraphQLClient:
        """Return a client with its own cookie jar, like a separate browser."""
        return GraphQLClient(httpx.AsyncClient(base_url=self.base_url, timeout=10.0, trust_env=False))

    async def wait_until_healthy(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2.0, trust_env=False) as http:
            while loop.time() < deadline:
                if self.process.returncode is not None:
                    raise AssertionError(f"serve exited with status {self.process.returncode}:\n{self.log()}")
                with contextlib.suppress(httpx.TransportError):
                    response = await http.get("/healthz")
                    if response.status_code == 200 and response.json() == {"status": "ok"}:
                        return
                await asyncio.sleep(POLL_SECONDS)
        raise AssertionError(f"/healthz did not report ok within {WAIT_SECONDS} s:\n{self.log()}")

    async def wait_for_exit(self) -> int | None:
        """Return the exit status, or None if the process is still running after WAIT_SECONDS."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), WAIT_SECONDS)
        return self.process.returncode


@contextlib.asynccontextmanager
async def running_server(
    environment: dict[str, str], cwd: Path, global_options: Sequence[str] = ()
) -> AsyncIterator[ServerProcess]:
    """Start `console-users [global_options] serve` on a free port of 127.0.0.1 and wait until /healthz reports ok."""
    port = free_port()
    log_path = cwd / f"serve-{port}.log"
    # The log goes to a file rather than a pipe, so a chatty server can never block on a full pipe.
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            str(CONSOLE_USERS), *global_options, "serve", "--host", "127.0.0.1", "--port", str(port),
            env=environment, cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=asyncio.subprocess.STDOUT,
        )
    try:
        server = ServerProcess(process, port, log_path)
        await server.wait_until_healthy()
        yield server
    finally:
        await stop_process(process)


async def wait_for_mail(mailbox: Mailbox, address: str, count: int = 1) -> list[EmailMessage]:
    """Return the mail to `address` once at least `count` messages have arrived."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while loop.time() < deadline:
        messages = mailbox.to(address)
        if len(messages) >= count:
            return messages
        await asyncio.sleep(POLL_SECONDS)
    received = [message["To"] for message in mailbox.messages]
    raise AssertionError(f"expected {count} message(s) to {address} within {WAIT_SECONDS} s, but the mailbox has {received}")


async def create_acme(environment: dict[str, str], cwd: Path, mailbox: Mailbox, owner: GraphQLClient) -> None:
    """Create the organization Acme with the CLI, and accept its owner's mailed invitation as Olivia Owner."""
    created = await run_cli(
        ["create-organization", "--name", "Acme", "--owner-email", "olivia@acme.example"], environment, cwd
    )
    assert created.returncode == 0, created.stderr
    await wait_for_mail(mailbox, "olivia@acme.example")
    accepted = await owner.accept(mailbox.invitation_token("olivia@acme.example"), "Olivia Owner")
    assert accepted["errors"] == []


async def close_clients(*clients: GraphQLClient) -> None:
    for client in clients:
        await client.http.aclose()


async def test_serve_runs_invitation_flow(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    mailbox = smtp_server.mailbox
    mailbox.clear()
    environment = server_environment(await fresh_database_url(), smtp_server.port)

    async with running_server(environment, tmp_path) as server:
        owner, reader_invitee, reader = server.client(), server.client(), server.client()
        try:
            health = await owner.http.get("/healthz")
            assert health.status_code == 200
            assert health.json() == {"status": "ok"}

            # Support creates the organization, and the serve process mails the owner's invitation.
            created = await run_cli(
                ["create-organization", "--name", "Acme", "--owner-email", "olivia@acme.example"], environment, tmp_path
            )
            assert created.returncode == 0, created.stderr
            organization_id = created.stdout.strip()
            assert organization_id.isdigit(), created.stdout

            owner_mail = await wait_for_mail(mailbox, "olivia@acme.example")
            assert len(owner_mail) == 1
            assert f"{CONSOLE_URL}/accept-invitation?token=" in text_of(owner_mail[0])

            accepted = await owner.accept(mailbox.invitation_token("olivia@acme.example"), "Olivia Owner")
            assert accepted["errors"] == []
            assert accepted["viewer"]["organization"]["id"] == organization_id
            assert accepted["viewer"]["user"]["role"] == "ADMIN"
            assert accepted["viewer"]["user"]["status"] == "ACTIVE"
            assert accepted["viewer"]["user"]["isOwner"] is True

            # The owner invites a Read-Only user, who accepts from the link in the mail.
            invited = await owner.invite("rita@acme.example", "READ_ONLY")
            assert invited["errors"] == []
            assert invited["user"]["status"] == "INVITED"

            reader_mail = await wait_for_mail(mailbox, "rita@acme.example")
            match = TOKEN_PATTERN.search(text_of(reader_mail[-1]))
            assert match is not None
            joined = await reader_invitee.accept(match.group(1), "Rita Reader")
            assert joined["errors"] == []
            assert joined["viewer"]["user"]["role"] == "READ_ONLY"

            # A separate browser signs in with the password chosen on acceptance.
            login = await reader.login("rita@acme.example", PASSWORD)
            assert login["errors"] == []
            viewer = (await reader.data(VIEWER))["viewer"]
            assert viewer["email"] == "rita@acme.example"
            assert viewer["name"] == "Rita Reader"
            assert viewer["user"]["role"] == "READ_ONLY"
            assert viewer["user"]["status"] == "ACTIVE"
            assert viewer["user"]["isOwner"] is False
            assert viewer["organization"]["id"] == organization_id
            assert viewer["organization"]["owner"]["email"] == "olivia@acme.example"

            users = (await reader.data(USERS))["users"]
            rows = {edge["node"]["email"]: edge["node"] for edge in users["edges"]}
            assert users["totalCount"] == 2
            assert set(rows) == {"olivia@acme.example", "rita@acme.example"}
            assert rows["olivia@acme.example"] == {
                "email": "olivia@acme.example", "name": "Olivia Owner", "role": "ADMIN", "status": "ACTIVE", "isOwner": True,
            }
            assert rows["rita@acme.example"] == {
                "email": "rita@acme.example", "name": "Rita Reader", "role": "READ_ONLY", "status": "ACTIVE", "isOwner": False,
            }
        finally:
            await close_clients(owner, reader_invitee, reader)


async def test_sigterm_stops_server_with_status_zero(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    environment = server_environment(await fresh_database_url(), smtp_server.port)

    async with running_server(environment, tmp_path) as server:
        client = server.client()
        try:
            # One request through the ORM first, so shutdown has an open database connection to close.
            body = await client.post(VIEWER)
            assert body == {"data": {"viewer": None}}
        finally:
            await close_clients(client)

        server.process.send_signal(signal.SIGTERM)
        status = await server.wait_for_exit()

        assert status == 0, server.log()
