"""Every example of docs/integrations.md, run against a real `console-users serve` process.

The GraphQL example creates the token with the owner's session. The shell examples run in bash,
one after the other. The Python examples build on each other, so they run as one script, as the
guide instructs. What the guide shows as output is compared with what the server returned.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.support import SmtpServer
from tests.test_server_process import (
    create_acme,
    WAIT_SECONDS,
    close_clients,
    running_server,
    server_environment,
)

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "integrations.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# The block that only shows how to set the two variables is an illustration, not a step.
ILLUSTRATION = "export CONSOLE_USERS_URL="


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(GUIDE.read_text(encoding="utf-8")) if lang == language]


async def run_script(command: list[str], script: str, environment: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *command, env=environment, cwd=cwd,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(script.encode()), WAIT_SECONDS)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode or 0, stdout.decode(), stderr.decode()


def test_guide_has_every_kind_of_example() -> None:
    assert len(blocks("graphql")) == 1
    assert len(blocks("sh")) == 3
    assert len(blocks("python")) >= 5
    assert len(blocks("json")) == 1


# CI (CI=true) installs curl and jq, so there a missing tool fails the test instead of skipping it.
@pytest.mark.skipif(
    (shutil.which("curl") is None or shutil.which("jq") is None) and os.environ.get("CI") != "true",
    reason="the shell examples need curl and jq",
)
async def test_guide_examples_run(
    fresh_database_url: Callable[[], Awaitable[str]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    mailbox = smtp_server.mailbox
    mailbox.clear()
    environment = server_environment(await fresh_database_url(), smtp_server.port)

    async with running_server(environment, tmp_path) as server:
        owner = server.client()
        try:
            await create_acme(environment, tmp_path, mailbox, owner)

            # Step 1 of the guide, as an Admin would run it in GraphiQL.
            token = (await owner.data(blocks("graphql")[0]))["createApiToken"]
            assert token["errors"] == []
            example_environment = {
                **environment, "CONSOLE_USERS_URL": server.base_url, "CONSOLE_USERS_TOKEN": token["secret"],
            }

            shell_examples = [body for body in blocks("sh") if ILLUSTRATION not in body]
            first_request, worked_example = shell_examples
            status, output, errors = await run_script(["bash", "-euo", "pipefail"], first_request, example_environment, tmp_path)
            assert status == 0, errors
            assert json.loads(output) == json.loads(blocks("json")[0])

            status, output, errors = await run_script(["bash", "-euo", "pipefail"], worked_example, example_environment, tmp_path)
            assert status == 0, errors
            lines = output.splitlines()
            assert lines[0].startswith("invited user ")
            assert lines[1] == "ADMIN"
            assert lines[2] == "REMOVED"
            assert "revoked the invitation to sam.hire@example.com" in lines[3]
            assert "API token 'HR sync'" in lines[3]

            python_examples = "\n\n".join(blocks("python"))
            status, output, errors = await run_script([sys.executable, "-"], python_examples, example_environment, tmp_path)
            assert status == 0, errors
            assert "Signed in as olivia@acme.example with token HR sync" in output
            listed = [line for line in output.splitlines() if line.endswith((" ACTIVE", " INVITED", " INVITATION_EXPIRED"))]
            assert "olivia@acme.example ADMIN ACTIVE" in listed
            # The default filter leaves out removed users, such as the hire of the shell example.
            assert not any(line.startswith("sam.hire@example.com") for line in listed)
            assert "ALREADY_MEMBER ['input', 'email']" in output
            assert "\nAcme\n" in output
            assert "revoked the invitation to alex.hire@example.com." in output

            users = (await owner.data("{ users(filter: {status: [REMOVED]}) { edges { node { email } } } }"))["users"]
            assert {edge["node"]["email"] for edge in users["edges"]} == {"sam.hire@example.com", "alex.hire@example.com"}
        finally:
            await close_clients(owner)
