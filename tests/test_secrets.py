"""Passwords and tokens never appear in logs, error messages or query results.

The first test runs a real `console-users --log-level DEBUG serve` with SMTP configured, so every
logger of the server, tortoise.db_client's SQL parameters and uvicorn's access log included,
writes to the captured log. The others check the echo of request values in GraphQL errors.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from console_users.settings import Settings
from resolvers.organizations import create_organization
from tests.hardening import codes
from tests.support import ACCEPT, LOGIN, PASSWORD, GraphQLClient, SmtpServer
from tests.test_server_process import close_clients, run_cli, running_server, server_environment, wait_for_mail

OWNER_PASSWORD = "owner passphrase 4f9c2e"
READER_PASSWORD = "reader passphrase 7d1a0b"
COOKIE = "session"
PREVIEW = "query($token: String!) { invitation(token: $token) { email organizationName } }"


async def post_and_keep(client: GraphQLClient, bodies: list[str], query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.http.post("/graphql", json={"query": query, "variables": variables or {}})
    bodies.append(response.text)
    return response.json()  # type: ignore[no-any-return]


async def test_flow_leaves_no_secret_in_logs_or_results(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    mailbox = smtp_server.mailbox
    mailbox.clear()
    environment = server_environment(await fresh_database_url(), smtp_server.port)
    bodies: list[str] = []

    async with running_server(environment, tmp_path, global_options=["--log-level", "DEBUG"]) as server:
        owner, reader, reader_again = server.client(), server.client(), server.client()
        try:
            created = await run_cli(
                ["--log-level", "DEBUG", "create-organization", "--name", "Acme", "--owner-email", "olivia@acme.example"],
                environment, tmp_path,
            )
            await wait_for_mail(mailbox, "olivia@acme.example")
            owner_token = mailbox.invitation_token("olivia@acme.example")
            await post_and_keep(owner, bodies, ACCEPT, {"input": {"token": owner_token, "name": "Olivia", "password": OWNER_PASSWORD}})
            await post_and_keep(owner, bodies, "mutation { inviteUser(input: {email: \"rita@acme.example\", role: READ_ONLY}) { user { id } } }")
            await wait_for_mail(mailbox, "rita@acme.example")
            reader_token = mailbox.invitation_token("rita@acme.example")

            # A GET preview puts the token in the URL, which uvicorn's access log records.
            preview = await reader.http.get("/graphql", params={"query": PREVIEW, "variables": f'{{"token": "{reader_token}"}}'})
            bodies.append(preview.text)
            # A client that sends an unknown input field gets an error that would quote the whole input.
            echoed = await post_and_keep(
                reader, bodies, ACCEPT,
                {"input": {"token": reader_token, "name": "Rita", "password": READER_PASSWORD, "nickname": "R"}},
            )
            await post_and_keep(reader, bodies, ACCEPT, {"input": {"token": reader_token, "name": "Rita", "password": READER_PASSWORD}})
            await post_and_keep(reader_again, bodies, LOGIN, {"email": "rita@acme.example", "password": READER_PASSWORD})
            await post_and_keep(reader_again, bodies, "{ viewer { email } users { edges { node { email status } } } activity { edges { node { description } } } }")
            await post_and_keep(owner, bodies, "mutation { logout }")
            sessions = [client.http.cookies[COOKIE] for client in (reader, reader_again)]
        finally:
            await close_clients(owner, reader, reader_again)
    log = server.log() + created.stdout + created.stderr

    secrets = {
        "owner password": OWNER_PASSWORD, "reader password": READER_PASSWORD,
        "owner invitation": owner_token, "reader invitation": reader_token,
        "reader session": sessions[0], "second session": sessions[1],
    }
    assert created.returncode == 0, created.stderr
    assert preview.status_code == 200
    assert echoed["data"] is None
    # The capture did include DEBUG records, requests and mail delivery. (The command line keeps
    # tortoise at INFO even with --log-level DEBUG; test_sql_log_hides_parameters covers its SQL log.)
    assert " DEBUG " in log
    assert "uvicorn.access" in log
    assert "delivered" in log
    for name, secret in secrets.items():
        assert secret not in log, f"the {name} is in the log"
        assert all(secret not in body for body in bodies), f"the {name} is in a response"


async def test_variable_errors_redact_passwords_and_tokens(
    settings: Settings, new_client: Callable[[], GraphQLClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, invitation = await create_organization(settings, "Acme", "olivia@acme.example")
    client = new_client()
    password = "a long passphrase with 'quotes' and \\ backslash"
    long_password = "x" * 300 + "tail of a very long passphrase"

    unknown_field = await client.post(ACCEPT, {"input": {"token": invitation.token, "password": password, "extra": 1}})
    not_a_string = await client.post(LOGIN, {"email": "olivia@acme.example", "password": 1234567890123})
    long_echo = await client.post(ACCEPT, {"input": {"token": invitation.token, "password": long_password, "nickname": "x"}})
    messages = [error["message"] for body in (unknown_field, not_a_string, long_echo) for error in body["errors"]]
    logged = "\n".join(record.getMessage() for record in caplog.records)

    assert codes(unknown_field) == [None]
    assert len(messages) == 3
    assert all("[REDACTED]" in message for message in messages)
    for secret in (invitation.token, password, "1234567890123", "x" * 100, "tail of a very long"):
        assert all(secret not in message for message in messages), secret
        assert secret not in logged, secret


async def test_literal_secrets_redacted_from_errors(new_client: Callable[[], GraphQLClient], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = new_client()

    body = await client.post('{ invitation(token: "literal-secret-token") { email nosuchfield } }')
    logged = "\n".join(record.getMessage() for record in caplog.records)

    assert len(body["errors"]) == 1
    assert "literal-secret-token" not in logged


async def test_sql_log_hides_parameters(
    settings: Settings, new_client: Callable[[], GraphQLClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    new_client()  # builds the app, which installs the log filters

    _, invitation = await create_organization(settings, "Acme", "olivia@acme.example")
    sql = [record.getMessage() for record in caplog.records if record.name == "tortoise.db_client"]

    assert any("INSERT INTO" in message for message in sql)
    assert all(invitation.token not in message for message in sql)
    assert all("olivia@acme.example" not in message for message in sql)
