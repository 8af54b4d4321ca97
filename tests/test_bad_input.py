"""Malformed requests and hostile values: each gets a clear error and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from models import Membership, OutboxMessage
from tests.conftest import Team
from tests.hardening import JSON, codes
from tests.support import ACCEPT, INVITE, PASSWORD, payload_codes

ANN = "ann@acme.example"


async def invite_payload(team: Team, email: str, role: str = "READ_ONLY") -> dict[str, Any]:
    return (await team.owner.data(INVITE, {"input": {"email": email, "role": role}}))["inviteUser"]  # type: ignore[no-any-return]


async def queued_messages() -> int:
    return await OutboxMessage.all().count()


# Request bodies


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "mutation { logout }"',
        b"mutation { logout }",
        b"",
        b'{"query": "mutation { logout }"} trailing',
    ],
)
async def test_malformed_json_rejected(team: Team, body: bytes) -> None:
    response = await team.owner.http.post("/graphql", content=body, headers=JSON)

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert (await team.owner.data("{ viewer { email } }"))["viewer"] is not None


@pytest.mark.parametrize(
    "body",
    [
        b"42",
        b'"mutation { logout }"',
        b"null",
        b'{"query": ["mutation { logout }"]}',
        b'{"query": "mutation { logout }", "variables": [1]}',
        b'{"query": "mutation { logout }", "variables": "{}"}',
        b'{"query": "mutation { logout }", "operationName": 7}',
        b'{"query": "mutation { logout }", "operationName": {"name": "x"}}',
        b'{"query": "mutation { logout }", "extensions": false}',
    ],
)
async def test_misshapen_request_rejected(team: Team, body: bytes) -> None:
    response = await team.owner.http.post("/graphql", content=body, headers=JSON)

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert (await team.owner.data("{ viewer { email } }"))["viewer"] is not None


async def test_missing_query_rejected(team: Team) -> None:
    response = await team.anonymous.http.post("/graphql", json={"variables": {}})

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]


async def test_invalid_utf8_rejected(team: Team) -> None:
    body = b'{"query": "mutation($i: InviteUserInput!) { inviteUser(input: $i) { errors { code } } }", ' + (
        b'"variables": {"i": {"email": "ann\xff\xfe@acme.example", "role": "READ_ONLY"}}}'
    )

    response = await team.owner.http.post("/graphql", content=body, headers=JSON)

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert not await Membership.exists(email__startswith="ann")


async def test_lone_surrogate_rejected(team: Team) -> None:
    body = b'{"query": "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { errors { code } } }", ' + (
        b'"variables": {"i": {"token": "t", "name": "Ann", "password": "long enough \\ud800 passphrase"}}}'
    )

    response = await team.anonymous.http.post("/graphql", content=body, headers=JSON)

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]


async def test_utf16_body_rejected(team: Team) -> None:
    body = '{"query": "{ viewer { email } }"}'.encode("utf-16")

    response = await team.anonymous.http.post("/graphql", content=body, headers=JSON)

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]


async def test_unknown_operation_name_rejected(team: Team) -> None:
    response = await team.anonymous.http.post(
        "/graphql", json={"query": "query A { viewer { email } } query B { viewer { name } }", "operationName": "C"}
    )

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]


async def test_unknown_fragment_is_validation_error(team: Team) -> None:
    body = await team.anonymous.post("{ ...Missing }")

    assert body.get("data") is None
    assert "INTERNAL_SERVER_ERROR" not in codes(body)
    assert len(body["errors"]) == 1


# Huge strings


async def test_huge_name_rejected(team: Team, mailbox, deliver) -> None:  # type: ignore[no-untyped-def]
    await invite_payload(team, ANN)
    await deliver()
    token = mailbox.invitation_token(ANN)

    accepted = await team.anonymous.accept(token, "N" * 20_000)

    assert payload_codes(accepted) == ["INVALID_INPUT"]
    assert accepted["errors"][0]["field"] == ["input", "name"]
    assert len(accepted["errors"][0]["message"]) < 300


async def test_huge_email_rejected(team: Team) -> None:
    messages = await queued_messages()

    invited = await invite_payload(team, "a" * 30_000 + "@acme.example")

    assert payload_codes(invited) == ["INVALID_INPUT"]
    assert len(invited["errors"][0]["message"]) < 300
    assert await queued_messages() == messages


async def test_huge_password_rejected(team: Team) -> None:
    signed_in = (await team.anonymous.data(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { errors { code field } } }",
        {"e": "rita@acme.example", "p": "p" * 60_000},
    ))["login"]

    assert payload_codes(signed_in) == ["INVALID_INPUT"]


async def test_huge_search_term_rejected(team: Team) -> None:
    body = await team.owner.post("query($s: String) { users(filter: {search: $s}) { totalCount } }", {"s": "%_" * 30_000})

    assert codes(body) == ["INVALID_INPUT"]


async def test_longest_search_term_runs(team: Team) -> None:
    body = await team.owner.post("query($s: String) { users(filter: {search: $s}) { totalCount } }", {"s": "%_" * 127})

    assert body == {"data": {"users": {"totalCount": 0}}}


# Line breaks and control characters


@pytest.mark.parametrize(
    "email",
    [
        "ann@acme.example\r\nBcc: everyone@acme.example",
        "ann@acme.example\nSubject: hi",
        "ann\x00@acme.example",
        "ann\u2028@acme.example",
        "Ann <ann@acme.example>",
        "ann@acme.example, bob@acme.example",
    ],
)
async def test_header_injection_email_rejected(team: Team, email: str) -> None:
    messages = await queued_messages()

    invited = await invite_payload(team, email)

    assert payload_codes(invited) == ["INVALID_INPUT"]
    assert invited["errors"][0]["field"] == ["input", "email"]
    assert await Membership.all().count() == 3
    assert await queued_messages() == messages


@pytest.mark.parametrize(
    "name",
    ["Ann\r\nBcc: everyone@acme.example", "Ann\nSmith", "Ann\x00", "Ann\u2028Smith", "Ann\u202eSmith", "Ann\x1b[31m"],
)
async def test_control_characters_in_name_rejected(team: Team, mailbox, deliver, name: str) -> None:  # type: ignore[no-untyped-def]
    await invite_payload(team, ANN)
    await deliver()
    token = mailbox.invitation_token(ANN)

    accepted = await team.anonymous.accept(token, name)
    later = await team.anonymous.accept(token, "Ann Smith")

    assert payload_codes(accepted) == ["INVALID_INPUT"]
    assert accepted["errors"][0]["field"] == ["input", "name"]
    assert later["errors"] == []


async def test_inviter_name_reaches_subject_on_one_line(team: Team, mailbox, deliver) -> None:  # type: ignore[no-untyped-def]
    await invite_payload(team, ANN)
    await deliver()

    subject = mailbox.to(ANN)[-1]["Subject"]

    assert "\n" not in subject
    assert "\r" not in subject
    assert subject == "Olivia Owner invited you to Acme"


# Unknown enum values and absurd ids


async def test_unknown_role_literal_rejected(team: Team) -> None:
    body = await team.owner.post(f'mutation {{ inviteUser(input: {{email: "{ANN}", role: SUPERUSER}}) {{ errors {{ code }} }} }}')

    assert body.get("data") is None
    assert len(body["errors"]) == 1
    assert await Membership.all().count() == 3


async def test_unknown_role_variable_rejected(team: Team) -> None:
    body = await team.owner.post(INVITE, {"input": {"email": ANN, "role": "SUPERUSER"}})

    assert body.get("data") is None
    assert len(body["errors"]) == 1
    assert await Membership.all().count() == 3


async def test_lower_case_role_rejected(team: Team) -> None:
    body = await team.owner.post(INVITE, {"input": {"email": ANN, "role": "admin"}})

    assert body.get("data") is None
    assert await Membership.all().count() == 3


async def test_unknown_status_filter_rejected(team: Team) -> None:
    body = await team.owner.post("query($s: [UserStatus!]) { users(filter: {status: $s}) { totalCount } }", {"s": ["DELETED"]})

    assert body.get("data") is None
    assert len(body["errors"]) == 1


@pytest.mark.parametrize("user_id", ["-1", "0", "99999999999999999999", "1e3", " 1", "１", "", "\u0000"])
async def test_absurd_ids_not_found(team: Team, user_id: str) -> None:
    body = await team.owner.post("query($id: ID!) { user(id: $id) { email } }", {"id": user_id})
    removed = (await team.owner.data("mutation($id: ID!) { removeUser(userId: $id) { errors { code } } }", {"id": user_id}))["removeUser"]

    assert body == {"data": {"user": None}}
    assert payload_codes(removed) == ["NOT_FOUND"]


async def test_wrong_scalar_types_rejected(team: Team) -> None:
    for variables in ({"input": {"email": 42, "role": "ADMIN"}}, {"input": {"email": [ANN], "role": "ADMIN"}}, {"input": None}):
        body = await team.owner.post(INVITE, variables)

        assert body.get("data") is None, variables
        assert "INTERNAL_SERVER_ERROR" not in codes(body), variables
    assert await Membership.all().count() == 3


async def test_accept_with_password_only_spaces(team: Team, mailbox, deliver) -> None:  # type: ignore[no-untyped-def]
    await invite_payload(team, ANN)
    await deliver()

    accepted = (await team.anonymous.data(ACCEPT, {"input": {"token": mailbox.invitation_token(ANN), "name": "Ann", "password": " " * 5}}))

    assert payload_codes(accepted["acceptInvitation"]) == ["WEAK_PASSWORD"]
    assert PASSWORD not in str(accepted)
