"""Test helpers: a GraphQL client per person, a real SMTP server, mail parsing."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
from aiosmtpd.smtp import SMTP, Envelope

PASSWORD = "correct horse battery"
TOKEN_PATTERN = re.compile(r"accept-invitation\?token=([A-Za-z0-9_\-]+)")


class GraphQLClient:
    """One person's browser: its own cookie jar, talking to /graphql."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a query that must succeed without top-level errors."""
        body = await self.post(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def login(self, email_address: str, password: str = PASSWORD) -> dict[str, Any]:
        data = await self.data(LOGIN, {"email": email_address, "password": password})
        return data["login"]

    async def accept(self, token: str, name: str | None, password: str = PASSWORD) -> dict[str, Any]:
        data = await self.data(ACCEPT, {"input": {"token": token, "name": name, "password": password}})
        return data["acceptInvitation"]

    async def invite(self, email_address: str, role: str) -> dict[str, Any]:
        data = await self.data(INVITE, {"input": {"email": email_address, "role": role}})
        return data["inviteUser"]


def top_level_codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


def payload_codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


@dataclass
class Mailbox:
    """Messages received by the test SMTP server, and switches to make it misbehave."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    refused_recipients: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Envelope, address: str, options: list[str]) -> str:
        if address in self.refused_recipients:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        self.messages.append(email.message_from_bytes(content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        self.messages.clear()
        self.envelopes.clear()
        self.refused_recipients.clear()

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]

    def invitation_token(self, address: str) -> str:
        """Return the token from the newest invitation mailed to `address`."""
        for message in reversed(self.to(address)):
            match = TOKEN_PATTERN.search(text_of(message))
            if match:
                return match.group(1)
        raise AssertionError(f"no invitation mail to {address}; got {[m['To'] for m in self.messages]}")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()  # type: ignore[no-any-return]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return part.get_content()  # type: ignore[no-any-return]


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 in the test's own event loop; it can be stopped and restarted."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.port = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self.mailbox, hostname="localhost", loop=loop), "127.0.0.1", self.port
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None


LOGIN = """
mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    viewer { email name user { id role status isOwner } organization { id name } }
    errors { code message field }
  }
}"""

ACCEPT = """
mutation($input: AcceptInvitationInput!) {
  acceptInvitation(input: $input) {
    viewer { email name user { id role status isOwner } organization { id name } }
    errors { code message field }
  }
}"""

INVITE = """
mutation($input: InviteUserInput!) {
  inviteUser(input: $input) {
    user { id email role status invitationEmail invitedBy { email name } invitationExpiresAt }
    errors { code message field }
  }
}"""

CHANGE_ROLE = """
mutation($id: ID!, $role: Role!) {
  changeUserRole(userId: $id, role: $role) { user { id role status } errors { code message field } }
}"""

REMOVE = """
mutation($id: ID!) {
  removeUser(userId: $id) { user { id status removedAt } errors { code message field } }
}"""

RESEND = """
mutation($id: ID!) {
  resendInvitation(userId: $id) { user { id status invitationExpiresAt invitationEmail } errors { code message field } }
}"""

TRANSFER = """
mutation($id: ID!, $password: String!) {
  transferOwnership(userId: $id, password: $password) {
    organization { id owner { id email isOwner } }
    errors { code message field }
  }
}"""

VIEWER = "{ viewer { email name user { id role status isOwner } organization { id name owner { email } } } }"
