"""Limits on one request, each refused with a coded top-level error before anything runs."""

from __future__ import annotations

import pytest

from tests.conftest import Team
from tests.hardening import GRAPHQL_RESPONSE, JSON, ClientFactory, client_with, codes, post_json  # noqa: F401

USERS_COUNT = "{ users { totalCount } }"
# invitedBy nests without end; this selection reaches depth 11 (the top-level field is depth 0).
DEEP_INVITE = (
    'mutation { inviteUser(input: {email: "ann@acme.example", role: READ_ONLY}) { user { '
    + "invitedBy { " * 9 + "email" + " }" * 9 + " } } }"
)


def aliased_invites(count: int) -> str:
    fields = " ".join(
        f'i{n}: inviteUser(input: {{email: "hire{n}@acme.example", role: READ_ONLY}}) {{ errors {{ code }} }}'
        for n in range(count)
    )
    return f"mutation {{ {fields} }}"


def aliased_typenames(count: int) -> str:
    return "{ " + " ".join(f"a{n}: __typename" for n in range(count)) + " }"


async def user_count(team: Team) -> int:
    return int((await team.owner.data(USERS_COUNT))["users"]["totalCount"])


# Depth


async def test_too_deep_operation_refused(team: Team) -> None:
    body = await team.owner.post(DEEP_INVITE)

    assert body.get("data") is None
    assert codes(body) == ["QUERY_TOO_DEEP"]
    assert await user_count(team) == 3


async def test_depth_at_limit_runs(team: Team) -> None:
    query = "{ viewer { user { " + "invitedBy { " * 8 + "email" + " }" * 8 + " } } }"

    body = await team.owner.post(query)

    assert "errors" not in body


async def test_depth_through_fragments_counted(team: Team) -> None:
    query = (
        "{ viewer { user { ...A } } } "
        "fragment A on User { invitedBy { invitedBy { invitedBy { ...B } } } } "
        "fragment B on User { invitedBy { invitedBy { invitedBy { invitedBy { invitedBy { invitedBy { email } } } } } } }"
    )

    body = await team.owner.post(query)

    assert codes(body) == ["QUERY_TOO_DEEP"]


async def test_depth_limit_is_a_setting(team: Team, client_with: ClientFactory) -> None:
    http = client_with(cookies=team.owner.http.cookies, max_query_depth=2)

    refused = (await post_json(http, "{ viewer { user { invitedBy { email } } } }")).json()
    allowed = (await post_json(http, "{ viewer { user { email } } }")).json()

    assert codes(refused) == ["QUERY_TOO_DEEP"]
    assert allowed["data"]["viewer"]["user"]["email"] == "olivia@acme.example"


# Aliases


async def test_too_many_aliases_refused(team: Team) -> None:
    body = await team.owner.post(aliased_invites(16))

    assert body.get("data") is None
    assert codes(body) == ["TOO_MANY_ALIASES"]
    assert await user_count(team) == 3


async def test_aliases_at_limit_run(team: Team) -> None:
    body = await team.anonymous.post(aliased_typenames(15))

    assert "errors" not in body
    assert len(body["data"]) == 15


async def test_aliases_in_repeated_fragments_counted(team: Team) -> None:
    query = "{ ...F ...F viewer { ...G } } fragment F on Query { a: __typename b: __typename c: __typename } " + (
        "fragment G on Viewer { " + " ".join(f"e{n}: email" for n in range(10)) + " }"
    )

    body = await team.owner.post(query)

    assert codes(body) == ["TOO_MANY_ALIASES"]


async def test_alias_limit_is_a_setting(client_with: ClientFactory) -> None:
    http = client_with(max_query_aliases=2)

    refused = (await post_json(http, aliased_typenames(3))).json()
    allowed = (await post_json(http, aliased_typenames(2))).json()

    assert codes(refused) == ["TOO_MANY_ALIASES"]
    assert "errors" not in allowed


# Tokens


async def test_too_many_tokens_refused(team: Team) -> None:
    # 2,001 tokens: the braces and 1,999 names, all under the default depth and alias limits.
    body = await team.anonymous.post("{" + " __typename" * 1999 + " }")

    assert body.get("data") is None
    assert codes(body) == ["TOO_MANY_TOKENS"]


async def test_token_limit_is_a_setting(client_with: ClientFactory) -> None:
    http = client_with(max_query_tokens=100)

    refused = (await post_json(http, "{" + " __typename" * 99 + " }")).json()
    allowed = (await post_json(http, "{" + " __typename" * 98 + " }")).json()

    assert codes(refused) == ["TOO_MANY_TOKENS"]
    assert "errors" not in allowed


async def test_token_limit_refused_as_request_error(team: Team) -> None:
    response = await post_json(team.anonymous.http, "{" + " __typename" * 1999 + " }", Accept=GRAPHQL_RESPONSE)

    assert response.status_code == 400
    assert "data" not in response.json()


# Request body size


async def test_body_over_100_kib_refused(team: Team) -> None:
    padding = " " * (100 * 1024)

    response = await team.owner.http.post(
        "/graphql", content=f'{{"query": "mutation {{ logout }}"{padding}}}'.encode(), headers=JSON
    )

    assert response.status_code == 413
    assert codes(response.json()) == ["REQUEST_TOO_LARGE"]
    assert (await team.owner.data("{ viewer { email } }"))["viewer"] is not None


async def test_streamed_body_over_limit_refused(team: Team) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"query": "{ viewer { email } }", "x": "'
        for _ in range(30):
            yield b"x" * 4096
        yield b'"}'

    # Without a Content-Length header the guard counts the bytes as they arrive.
    response = await team.anonymous.http.post("/graphql", content=chunks(), headers=JSON)

    assert response.status_code == 413
    assert codes(response.json()) == ["REQUEST_TOO_LARGE"]


async def test_body_just_under_limit_accepted(team: Team) -> None:
    body = b'{"query": "{ viewer { email } }", "extensions": {"pad": "' + b"x" * (100 * 1024 - 100) + b'"}}'

    response = await team.anonymous.http.post("/graphql", content=body, headers=JSON)

    assert len(body) < 100 * 1024
    assert response.status_code == 200


async def test_body_limit_is_a_setting(client_with: ClientFactory) -> None:
    http = client_with(max_request_body_bytes=2048)

    response = await http.post("/graphql", content=b'{"query": "{ __typename }", "x": "' + b"x" * 2048 + b'"}', headers=JSON)

    assert response.status_code == 413


# List sizes


@pytest.mark.parametrize("first", [-1, 101, 2**31 - 1])
async def test_users_page_size_out_of_range(team: Team, first: int) -> None:
    body = await team.owner.post("query($first: Int) { users(first: $first) { totalCount } }", {"first": first})

    assert codes(body) == ["INVALID_INPUT"]


@pytest.mark.parametrize("first", [-1, 101])
async def test_activity_page_size_out_of_range(team: Team, first: int) -> None:
    body = await team.owner.post("query($first: Int) { activity(first: $first) { pageInfo { hasNextPage } } }", {"first": first})

    assert codes(body) == ["INVALID_INPUT"]


async def test_page_size_beyond_int_refused(team: Team) -> None:
    body = await team.owner.post("query($first: Int) { users(first: $first) { totalCount } }", {"first": 2**40})

    assert body.get("data") is None
    assert len(codes(body)) == 1


# Batches


async def test_batched_request_refused(team: Team) -> None:
    operations = [{"query": "mutation { logout }"}, {"query": "{ viewer { email } }"}]

    response = await team.owner.http.post("/graphql", json=operations)

    assert response.status_code == 400
    assert codes(response.json()) == ["BATCHING_NOT_SUPPORTED"]
    assert (await team.owner.data("{ viewer { email } }"))["viewer"] is not None
