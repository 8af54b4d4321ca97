"""The per-request GraphQL context: settings, the signed-in actor, loaders and the cookie."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from console_users.settings import Settings
from models import Membership, MessageStatus, OutboxMessage
from resolvers.actor import Actor


async def _load_members(ids: Sequence[int]) -> list[Membership | None]:
    found = {member.id: member for member in await Membership.filter(id__in=list(ids)).select_related("account")}
    return [found.get(member_id) for member_id in ids]


async def _load_message_statuses(ids: Sequence[int]) -> list[MessageStatus | None]:
    # Only the status column: the rendered bodies are not needed to show delivery state.
    rows = await OutboxMessage.filter(id__in=list(ids)).values_list("id", "status")
    found = {message_id: MessageStatus(status) for message_id, status in rows}
    return [found.get(message_id) for message_id in ids]


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | None
    settings: Settings
    actor: Actor | None
    session_token: str | None
    # Memberships by id, batched per request (invitedBy, owners, activity actors and subjects).
    members: DataLoader[int, Membership | None] = field(default_factory=lambda: DataLoader(load_fn=_load_members))
    # Delivery state of outbox messages by id, for User.invitationEmail.
    message_statuses: DataLoader[int, MessageStatus | None] = field(
        default_factory=lambda: DataLoader(load_fn=_load_message_statuses)
    )
    connection_params: dict[str, Any] | None = None

    @property
    def user_agent(self) -> str:
        return self.request.headers.get("user-agent", "")

    @property
    def client_address(self) -> str:
        """The peer's IP address (behind a proxy, run uvicorn with --proxy-headers)."""
        client = self.request.client
        return client.host if client is not None else "unknown"

    def set_session_cookie(self, token: str) -> None:
        assert self.response is not None
        self.response.set_cookie(
            self.settings.session_cookie_name,
            token,
            max_age=self.settings.session_lifetime_seconds,
            path="/",
            secure=self.settings.session_cookie_secure,
            httponly=True,
            samesite="lax",
        )
        self.session_token = token

    def clear_session_cookie(self) -> None:
        assert self.response is not None
        self.response.delete_cookie(
            self.settings.session_cookie_name,
            path="/",
            secure=self.settings.session_cookie_secure,
            httponly=True,
            samesite="lax",
        )
        self.session_token = None
