"""Who may call what: every field of the API against every kind of caller.

The table ACCESS lists, for each field, what happens to a caller with no session, a
Read-Only member, an Admin who does not own the organization, and the owner. Each cell
runs as its own test case on a fresh `team`, so a change made by one cell (a transfer,
a removal) cannot affect another.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from graphql import build_schema

from models import Membership, MembershipStatus, Organization, Role
from tests.conftest import Team
from tests.support import PASSWORD, GraphQLClient, Mailbox, top_level_codes

VIEWER = "{ viewer { email } }"

INVITATION = """
query($token: String!) {
  invitation(token: $token) { email state }
}"""

LOGIN = """
mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { viewer { email } errors { code } }
}"""

LOGOUT = "mutation { logout }"

ACCEPT = """
mutation($input: AcceptInvitationInput!) {
  acceptInvitation(input: $input) { viewer { email } errors { code } }
}"""

ORGANIZATION = "{ organization { id name } }"

USERS = "{ users { totalCount edges { node { email } } } }"

USER = """
query($id: ID!) {
  user(id: $id) { id email }
}"""

ACTIVITY = "{ activity { edges { node { action } } } }"

SWITCH = """
mutation($id: ID!) {
  switchOrganization(organizationId: $id) { viewer { organization { id } } errors { code } }
}"""

INVITE = """
mutation($input: InviteUserInput!) {
  inviteUser(input: $input) { user { email status } errors { code } }
}"""

RESEND = """
mutation($id: ID!) {
  resendInvitation(userId: $id) { user { id status } errors { code } }
}"""

CHANGE_ROLE = """
mutation($id: ID!, $role: Role!) {
  changeUserRole(userId: $id, role: $role) { user { id role } errors { code } }
}"""

REMOVE = """
mutation($id: ID!) {
  removeUser(userId: $id) { user { id status } errors { code } }
}"""

TRANSFER = """
mutation($id: ID!, $password: String!) {
  transferOwnership(userId: $id, password: $password) { organization { owner { id } } errors { code } }
}"""

CONTRACT = Path(__file__).parent.parent / "contract" / "published-schema.graphql"

# The address invited before every case, so that invitation, acceptInvitation and
# resendInvitation have a pending invitation to work on.
PENDING_ADDRESS = "ivy@acme.example"
# The address that the inviteUser cases invite. No case invites it beforehand.
FRESH_ADDRESS = "nina@acme.example"

CALLER_EMAILS = {
    "anonymous": None,
    "read_only": "rita@acme.example",
    "admin": "adam@acme.example",
    "owner": "olivia@acme.example",
}

ALLOWED = "ALLOWED"
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
CALLERS = ("anonymous", "read_only", "admin", "owner")

# field: (no session, Read-Only, Admin who is not the owner, owner)
ACCESS: dict[str, tuple[str, str, str, str]] = {
    "viewer": (ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    "invitation": (ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    "login": (ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    "logout": (ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    "acceptInvitation": (ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    "organization": (UNAUTHENTICATED, ALLOWED, ALLOWED, ALLOWED),
    "users": (UNAUTHENTICATED, ALLOWED, ALLOWED, ALLOWED),
    "user": (UNAUTHENTICATED, ALLOWED, ALLOWED, ALLOWED),
    "activity": (UNAUTHENTICATED, ALLOWED, ALLOWED, ALLOWED),
    "switchOrganization": (UNAUTHENTICATED, ALLOWED, ALLOWED, ALLOWED),
    "inviteUser": (UNAUTHENTICATED, FORBIDDEN, ALLOWED, ALLOWED),
    "resendInvitation": (UNAUTHENTICATED, FORBIDDEN, ALLOWED, ALLOWED),
    "changeUserRole": (UNAUTHENTICATED, FORBIDDEN, ALLOWED, ALLOWED),
    "removeUser": (UNAUTHENTICATED, FORBIDDEN, ALLOWED, ALLOWED),
    "transferOwnership": (UNAUTHENTICATED, FORBIDDEN, FORBIDDEN, ALLOWED),
}


def cells(*, allowed: bool) -> list[Any]:
    """Return the (field, caller, outcome) cells of ACCESS that allow the call, or those that deny it."""
    return [
        pytest.param(field, caller, outcome, id=f"{field}-{caller}")
        for field, outcomes in ACCESS.items()
        for caller, outcome in zip(CALLERS, outcomes, strict=True)
        if (outcome == ALLOWED) is allowed
    ]


@dataclass
class Scene:
    """The team of a case and the invitation that was pending before the call."""

    team: Team
    pending_id: str
    pending_token: str


def caller_client(team: Team, caller: str) -> GraphQLClient:
    return {"anonymous": team.anonymous, "read_only": team.reader, "admin": team.admin, "owner": team.owner}[caller]


def field_of(body: dict[str, Any], field: str) -> Any:
    """Return the field's data. An error in a non-null root field makes the whole `data` null."""
    if body["data"] is None:
        return None
    return body["data"][field]


async def preview_state(scene: Scene) -> str | None:
    """Return the state the pending invitation's link shows, or None once the link is dead."""
    data = await scene.team.anonymous.data(INVITATION, {"token": scene.pending_token})
    return None if data["invitation"] is None else data["invitation"]["state"]


async def membership(organization_id: str, email: str) -> Membership | None:
    return await Membership.filter(organization_id=int(organization_id), email=email).first()


# Checks of an allowed call. Each receives the field's data, the caller's name and the scene.
async def viewer_is_caller(result: Any, caller: str, scene: Scene) -> None:
    if caller == "anonymous":
        assert result is None
    else:
        assert result["email"] == CALLER_EMAILS[caller]


async def invitation_previewed(result: Any, caller: str, scene: Scene) -> None:
    assert result["email"] == PENDING_ADDRESS
    assert result["state"] == "PENDING"


async def signed_in_as_reader(result: Any, caller: str, scene: Scene) -> None:
    assert result["errors"] == []
    assert result["viewer"]["email"] == "rita@acme.example"


async def session_ended(result: Any, caller: str, scene: Scene) -> None:
    assert result is True
    after = await caller_client(scene.team, caller).data(VIEWER)
    assert after["viewer"] is None


async def invitation_accepted(result: Any, caller: str, scene: Scene) -> None:
    assert result["errors"] == []
    assert result["viewer"]["email"] == PENDING_ADDRESS
    assert await preview_state(scene) is None


async def organization_returned(result: Any, caller: str, scene: Scene) -> None:
    assert result["id"] == scene.team.organization_id
    assert result["name"] == "Acme"


async def users_listed(result: Any, caller: str, scene: Scene) -> None:
    emails = {edge["node"]["email"] for edge in result["edges"]}
    assert emails == {"olivia@acme.example", "adam@acme.example", "rita@acme.example", PENDING_ADDRESS}
    assert result["totalCount"] == 4


async def reader_returned(result: Any, caller: str, scene: Scene) -> None:
    assert result["id"] == scene.team.reader_id
    assert result["email"] == "rita@acme.example"


async def activity_listed(result: Any, caller: str, scene: Scene) -> None:
    actions = {edge["node"]["action"] for edge in result["edges"]}
    assert "USER_INVITED" in actions


async def organization_switched(result: Any, caller: str, scene: Scene) -> None:
    assert result["errors"] == []
    assert result["viewer"]["organization"]["id"] == scene.team.organization_id


async def fresh_address_invited(result: Any, caller: str, scene: Scene) -> None:
    assert result["errors"] == []
    assert result["user"]["email"] == FRESH_ADDRESS
    assert result["user"]["status"] == "INVITED"
    assert await membership(scene.team.organization_id, FRESH_ADDRESS) is not None


async def invitation_resent(result: Any, caller: str, scene: Scene) -> None:
    assert result["errors"] == []
    assert result["user"]["id"] == scene.pending_id
    assert result["user"]["status"] == "INVITED"
    # Resending replaces the token, so the link sent before no longer opens.
    assert await preview_state(scene) is None


async def reader_promoted(result: Any, caller: str, scene: Scene) -> None:
    assert result["errors"] == []
    assert result["user"]["role"] == "ADMIN"
    reader = await Membership.get(id=int(scene.team.reader_id))
    assert reader.role is Role.ADMIN


async def reader_removed(result: Any, caller: str, scene: Scene) -> None:
    assert result["errors"] == []
    assert result["user"]["status"] == "REMOVED"
    reader_users = await scene.team.reader.post(USERS)
    assert top_level_codes(reader_users) == [UNAUTHENTICATED]


async def ownership_transferred(result: Any, caller: str, scene: Scene) -> None:
    assert result["errors"] == []
    assert result["organization"]["owner"]["id"] == scene.team.admin_id
    organization = await Organization.get(id=int(scene.team.organization_id))
    assert organization.owner_user_id == int(scene.team.admin_id)


# Checks after a denied call: the state the call would have changed is as before.
async def nothing_to_change(scene: Scene) -> None:
    """Check nothing, because a denied read or session change leaves no state to compare."""


async def fresh_address_not_invited(scene: Scene) -> None:
    assert await membership(scene.team.organization_id, FRESH_ADDRESS) is None


async def pending_link_still_open(scene: Scene) -> None:
    assert await preview_state(scene) == "PENDING"


async def reader_still_read_only(scene: Scene) -> None:
    reader = await Membership.get(id=int(scene.team.reader_id))
    assert reader.role is Role.READ_ONLY


async def reader_still_active(scene: Scene) -> None:
    reader = await Membership.get(id=int(scene.team.reader_id))
    assert reader.status is MembershipStatus.ACTIVE
    reader_users = await scene.team.reader.post(USERS)
    assert "errors" not in reader_users


async def owner_unchanged(scene: Scene) -> None:
    organization = await Organization.get(id=int(scene.team.organization_id))
    assert organization.owner_user_id == int(scene.team.owner_id)


@dataclass(frozen=True)
class Operation:
    document: str
    variables: Callable[[Scene], dict[str, Any]]
    did_its_work: Callable[[Any, str, Scene], Awaitable[None]]
    nothing_changed: Callable[[Scene], Awaitable[None]]


OPERATIONS: dict[str, Operation] = {
    "viewer": Operation(VIEWER, lambda scene: {}, viewer_is_caller, nothing_to_change),
    "invitation": Operation(
        INVITATION, lambda scene: {"token": scene.pending_token}, invitation_previewed, nothing_to_change
    ),
    "login": Operation(
        LOGIN, lambda scene: {"email": "rita@acme.example", "password": PASSWORD}, signed_in_as_reader, nothing_to_change
    ),
    "logout": Operation(LOGOUT, lambda scene: {}, session_ended, nothing_to_change),
    "acceptInvitation": Operation(
        ACCEPT,
        lambda scene: {"input": {"token": scene.pending_token, "name": "Ivy Invitee", "password": PASSWORD}},
        invitation_accepted,
        pending_link_still_open,
    ),
    "organization": Operation(ORGANIZATION, lambda scene: {}, organization_returned, nothing_to_change),
    "users": Operation(USERS, lambda scene: {}, users_listed, nothing_to_change),
    "user": Operation(USER, lambda scene: {"id": scene.team.reader_id}, reader_returned, nothing_to_change),
    "activity": Operation(ACTIVITY, lambda scene: {}, activity_listed, nothing_to_change),
    "switchOrganization": Operation(
        SWITCH, lambda scene: {"id": scene.team.organization_id}, organization_switched, nothing_to_change
    ),
    "inviteUser": Operation(
        INVITE,
        lambda scene: {"input": {"email": FRESH_ADDRESS, "role": "READ_ONLY"}},
        fresh_address_invited,
        fresh_address_not_invited,
    ),
    "resendInvitation": Operation(
        RESEND, lambda scene: {"id": scene.pending_id}, invitation_resent, pending_link_still_open
    ),
    "changeUserRole": Operation(
        CHANGE_ROLE,
        lambda scene: {"id": scene.team.reader_id, "role": "ADMIN"},
        reader_promoted,
        reader_still_read_only,
    ),
    "removeUser": Operation(REMOVE, lambda scene: {"id": scene.team.reader_id}, reader_removed, reader_still_active),
    "transferOwnership": Operation(
        TRANSFER,
        lambda scene: {"id": scene.team.admin_id, "password": PASSWORD},
        ownership_transferred,
        owner_unchanged,
    ),
}


async def make_scene(team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]) -> Scene:
    invited = await team.owner.invite(PENDING_ADDRESS, "READ_ONLY")
    assert invited["errors"] == [], invited
    await deliver()
    return Scene(team=team, pending_id=invited["user"]["id"], pending_token=mailbox.invitation_token(PENDING_ADDRESS))


def test_table_covers_every_field() -> None:
    contract = build_schema(CONTRACT.read_text(encoding="utf-8"))
    fields = {*contract.query_type.fields, *contract.mutation_type.fields}
    assert set(ACCESS) == fields
    assert set(OPERATIONS) == fields


@pytest.mark.parametrize(("field", "caller", "outcome"), cells(allowed=True))
async def test_allowed_caller_gets_result(
    field: str, caller: str, outcome: str, team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    scene = await make_scene(team, mailbox, deliver)
    operation = OPERATIONS[field]

    body = await caller_client(team, caller).post(operation.document, operation.variables(scene))

    assert "errors" not in body, body["errors"]
    await operation.did_its_work(field_of(body, field), caller, scene)


@pytest.mark.parametrize(("field", "caller", "outcome"), cells(allowed=False))
async def test_denied_caller_changes_nothing(
    field: str, caller: str, outcome: str, team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    scene = await make_scene(team, mailbox, deliver)
    operation = OPERATIONS[field]

    body = await caller_client(team, caller).post(operation.document, operation.variables(scene))

    assert top_level_codes(body) == [outcome]
    assert body["errors"][0]["path"] == [field]
    assert field_of(body, field) is None
    await operation.nothing_changed(scene)
