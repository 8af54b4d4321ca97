"""Rules under concurrent requests: each scenario fires requests at once over real HTTP.

On PostgreSQL the requests run in parallel transactions, so these tests show that every rule
that reads before it writes holds its lock. On SQLite, Tortoise runs one transaction at a time,
so the same tests check the outcomes without real overlap.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
import uvicorn
from tortoise.transactions import in_transaction

from console_users.app import create_app
from console_users.settings import Settings
from models import Account, Membership, MembershipStatus, Organization, Role
from resolvers import activity
from resolvers.invitations import invite_into
from resolvers.organizations import create_organization
from tests.support import ACCEPT, CHANGE_ROLE, PASSWORD, REMOVE, RESEND, TRANSFER, Mailbox

ROUNDS = int(os.environ.get("RACE_ROUNDS", "50"))


@dataclass
class LiveServer:
    url: str
    clients: list[httpx.AsyncClient]

    def client(self) -> httpx.AsyncClient:
        http = httpx.AsyncClient(base_url=self.url, timeout=30)
        self.clients.append(http)
        return http


@pytest_asyncio.fixture
async def live_server(db: None, settings: Settings) -> AsyncIterator[LiveServer]:
    """The app under uvicorn on a free 127.0.0.1 port, in the test's event loop."""
    # Plain HTTP here, so the cookie must not be Secure for httpx to send it back.
    app = create_app(settings.model_copy(update={"session_cookie_secure": False}), manage_database=False, deliver_mail=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start within 5 seconds"
    port = server.servers[0].sockets[0].getsockname()[1]
    live = LiveServer(url=f"http://127.0.0.1:{port}", clients=[])
    yield live
    for http in live.clients:
        await http.aclose()
    server.should_exit = True
    await asyncio.wait_for(task, timeout=10)


async def call(http: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def outcome(body: dict[str, Any], field: str) -> str:
    """Reduce a mutation response to "ok", a payload error code, or a top-level error code."""
    if body.get("errors"):
        return str(body["errors"][0]["extensions"]["code"])
    payload = body["data"][field]
    return payload["errors"][0]["code"] if payload["errors"] else "ok"


@dataclass
class RaceOrganization:
    id: int
    owner_id: int | None
    owner: httpx.AsyncClient | None
    admins: list[tuple[int, httpx.AsyncClient]]


async def accept(live: LiveServer, token: str, name: str) -> httpx.AsyncClient:
    http = live.client()
    body = await call(http, ACCEPT, {"input": {"token": token, "name": name, "password": PASSWORD}})
    assert body["data"]["acceptInvitation"]["errors"] == [], body
    return http


async def race_organization(live: LiveServer, settings: Settings, admins: int, owner_accepts: bool = True) -> RaceOrganization:
    """An organization with its owner (signed in, or only invited) and `admins` more signed-in Admins."""
    tag = uuid.uuid4().hex[:8]
    organization, owner_invitation = await create_organization(settings, f"Race {tag}", f"owner-{tag}@race.example")
    tokens = []
    async with in_transaction() as connection:
        for index in range(admins):
            issued = await invite_into(
                connection, settings, organization,
                email=f"admin{index}-{tag}@race.example", role=Role.ADMIN, author=activity.SYSTEM, inviter_name=None,
            )
            tokens.append((issued.membership.id, issued.token))
    owner = await accept(live, owner_invitation.token, "Owner") if owner_accepts else None
    signed_in = [(member_id, await accept(live, token, f"Admin {number}")) for number, (member_id, token) in enumerate(tokens)]
    return RaceOrganization(id=organization.id, owner_id=owner_invitation.membership.id, owner=owner, admins=signed_in)


async def assert_admin_invariants(organization_id: int) -> None:
    organization = await Organization.get(id=organization_id)
    admins = await Membership.filter(organization_id=organization_id, status=MembershipStatus.ACTIVE, role=Role.ADMIN)
    assert len(admins) >= 1, f"organization {organization_id} has no active Admin"
    owner = await Membership.get(id=organization.owner_user_id)
    assert owner.role is Role.ADMIN
    if owner.account_id is not None:  # type: ignore[attr-defined]
        assert owner.status is MembershipStatus.ACTIVE


async def run_rounds(rounds: int, one_round: Callable[[int], Awaitable[None]]) -> None:
    for number in range(rounds):
        await one_round(number)


EXPECTED_REJECTIONS = {"LAST_ADMIN", "OWNER_MUST_STAY_ADMIN", "CANNOT_REMOVE_OWNER", "FORBIDDEN", "UNAUTHENTICATED", "INVALID_INPUT"}


async def test_admins_demoting_each_other(live_server: LiveServer, settings: Settings) -> None:
    async def one_round(number: int) -> None:
        team = await race_organization(live_server, settings, admins=2)
        (a_id, a), (b_id, b) = team.admins
        assert team.owner is not None
        results = await asyncio.gather(
            call(a, CHANGE_ROLE, {"id": str(b_id), "role": "READ_ONLY"}),
            call(b, REMOVE, {"id": str(a_id)}),
            call(team.owner, CHANGE_ROLE, {"id": str(a_id), "role": "READ_ONLY"}),
            call(a, CHANGE_ROLE, {"id": str(team.owner_id), "role": "READ_ONLY"}),
            call(b, REMOVE, {"id": str(team.owner_id)}),
        )
        codes = [outcome(body, field) for body, field in zip(
            results, ["changeUserRole", "removeUser", "changeUserRole", "changeUserRole", "removeUser"], strict=True)]
        assert codes[3] in {"OWNER_MUST_STAY_ADMIN", "FORBIDDEN", "UNAUTHENTICATED"}, codes
        assert codes[4] in {"CANNOT_REMOVE_OWNER", "FORBIDDEN", "UNAUTHENTICATED"}, codes
        assert set(codes) <= EXPECTED_REJECTIONS | {"ok"}, codes
        await assert_admin_invariants(team.id)

    await run_rounds(ROUNDS, one_round)


async def test_last_admins_without_owner(live_server: LiveServer, settings: Settings) -> None:
    """The owner has not accepted yet, so only the LAST_ADMIN check protects the organization."""

    async def one_round(number: int) -> None:
        team = await race_organization(live_server, settings, admins=2, owner_accepts=False)
        (a_id, a), (b_id, b) = team.admins
        if number % 2:
            requests = [call(a, CHANGE_ROLE, {"id": str(b_id), "role": "READ_ONLY"}),
                        call(b, CHANGE_ROLE, {"id": str(a_id), "role": "READ_ONLY"})]
            fields = ["changeUserRole", "changeUserRole"]
        else:
            requests = [call(a, REMOVE, {"id": str(b_id)}), call(b, CHANGE_ROLE, {"id": str(a_id), "role": "READ_ONLY"})]
            fields = ["removeUser", "changeUserRole"]
        codes = [outcome(body, field) for body, field in zip(await asyncio.gather(*requests), fields, strict=True)]
        assert codes.count("ok") == 1, codes
        assert set(codes) <= {"ok", "LAST_ADMIN", "FORBIDDEN", "UNAUTHENTICATED"}, codes
        admins = await Membership.filter(organization_id=team.id, status=MembershipStatus.ACTIVE, role=Role.ADMIN).count()
        assert admins == 1

    await run_rounds(ROUNDS, one_round)


async def test_same_invitation_accepted_at_once(live_server: LiveServer, settings: Settings) -> None:
    async def one_round(number: int) -> None:
        tag = uuid.uuid4().hex[:8]
        organization, invitation = await create_organization(settings, f"Race {tag}", f"owner-{tag}@race.example")
        variables = {"input": {"token": invitation.token, "name": "Owner", "password": PASSWORD}}
        bodies = await asyncio.gather(*[call(live_server.client(), ACCEPT, variables) for _ in range(5)])
        codes = [outcome(body, "acceptInvitation") for body in bodies]
        assert codes.count("ok") == 1, codes
        assert codes.count("INVITATION_INVALID") == 4, codes
        assert await Account.filter(email=f"owner-{tag}@race.example").count() == 1
        assert await Membership.filter(organization_id=organization.id, status=MembershipStatus.ACTIVE).count() == 1

    await run_rounds(ROUNDS, one_round)


async def test_same_address_invited_in_other_cases(live_server: LiveServer, settings: Settings) -> None:
    invite = "mutation($e: String!) { inviteUser(input: {email: $e, role: READ_ONLY}) { user { id } errors { code } } }"

    async def one_round(number: int) -> None:
        team = await race_organization(live_server, settings, admins=1)
        (_, admin) = team.admins[0]
        assert team.owner is not None
        spellings = ["kim@race.example", "Kim@Race.Example", "KIM@RACE.EXAMPLE", "kIm@race.EXAMPLE"]
        senders = [team.owner, admin, team.owner, admin]
        bodies = await asyncio.gather(*[call(http, invite, {"e": email}) for http, email in zip(senders, spellings, strict=True)])
        codes = [outcome(body, "inviteUser") for body in bodies]
        assert codes.count("ok") == 1, codes
        assert codes.count("ALREADY_INVITED") == 3, codes
        assert await Membership.filter(organization_id=team.id, email="kim@race.example").count() == 1

    await run_rounds(ROUNDS, one_round)


async def test_two_transfers_at_once(live_server: LiveServer, settings: Settings) -> None:
    async def one_round(number: int) -> None:
        team = await race_organization(live_server, settings, admins=2)
        (a_id, _), (b_id, _) = team.admins
        assert team.owner is not None
        bodies = await asyncio.gather(
            call(team.owner, TRANSFER, {"id": str(a_id), "password": PASSWORD}),
            call(team.owner, TRANSFER, {"id": str(b_id), "password": PASSWORD}),
        )
        codes = [outcome(body, "transferOwnership") for body in bodies]
        assert codes.count("ok") == 1, codes
        assert set(codes) == {"ok", "FORBIDDEN"}, codes
        organization = await Organization.get(id=team.id)
        assert organization.owner_user_id in (a_id, b_id)
        await assert_admin_invariants(team.id)

    await run_rounds(ROUNDS, one_round)


async def test_transfer_while_target_demoted(live_server: LiveServer, settings: Settings) -> None:
    async def one_round(number: int) -> None:
        team = await race_organization(live_server, settings, admins=2)
        (a_id, _), (_, b) = team.admins
        assert team.owner is not None
        transfer, demote = await asyncio.gather(
            call(team.owner, TRANSFER, {"id": str(a_id), "password": PASSWORD}),
            call(b, CHANGE_ROLE, {"id": str(a_id), "role": "READ_ONLY"}),
        )
        codes = (outcome(transfer, "transferOwnership"), outcome(demote, "changeUserRole"))
        assert codes in {("ok", "OWNER_MUST_STAY_ADMIN"), ("TARGET_NOT_ADMIN", "ok")}, codes
        organization = await Organization.get(id=team.id)
        owner = await Membership.get(id=organization.owner_user_id)
        assert owner.status is MembershipStatus.ACTIVE
        assert owner.role is Role.ADMIN

    await run_rounds(ROUNDS, one_round)


async def test_resend_racing_accept(live_server: LiveServer, settings: Settings, mailbox: Mailbox, deliver) -> None:  # type: ignore[no-untyped-def]
    async def one_round(number: int) -> None:
        team = await race_organization(live_server, settings, admins=0)
        assert team.owner is not None
        tag = uuid.uuid4().hex[:8]
        address = f"new-{tag}@race.example"
        invite = "mutation($e: String!) { inviteUser(input: {email: $e, role: READ_ONLY}) { user { id } errors { code } } }"
        invited = await call(team.owner, invite, {"e": address})
        user_id = invited["data"]["inviteUser"]["user"]["id"]
        await deliver()
        old_token = mailbox.invitation_token(address)

        accepted, resent = await asyncio.gather(
            call(live_server.client(), ACCEPT, {"input": {"token": old_token, "name": "New", "password": PASSWORD}}),
            call(team.owner, RESEND, {"id": user_id}),
        )
        codes = (outcome(accepted, "acceptInvitation"), outcome(resent, "resendInvitation"))
        assert codes in {("ok", "NOT_INVITED"), ("INVITATION_INVALID", "ok")}, codes
        if codes[1] == "ok":
            await deliver()
            new_token = mailbox.invitation_token(address)
            assert new_token != old_token
            retry_old = await call(live_server.client(), ACCEPT, {"input": {"token": old_token, "name": "New", "password": PASSWORD}})
            assert outcome(retry_old, "acceptInvitation") == "INVITATION_INVALID"
            with_new = await call(live_server.client(), ACCEPT, {"input": {"token": new_token, "name": "New", "password": PASSWORD}})
            assert outcome(with_new, "acceptInvitation") == "ok"
        assert await Membership.filter(id=int(user_id), status=MembershipStatus.ACTIVE).count() == 1

    await run_rounds(ROUNDS, one_round)
