"""API tokens: creation, bearer access capped by the creator's role, revocation, limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import pytest_asyncio

from console_users.app import create_app
from console_users.clock import utcnow
from console_users.settings import Settings
from models import ActivityEvent, ActorKind, ApiToken
from resolvers.credentials import hash_token
from tests.conftest import Team
from tests.support import CHANGE_ROLE, INVITE, PASSWORD, REMOVE, TRANSFER, GraphQLClient, payload_codes, top_level_codes

CREATE = """
mutation($input: CreateApiTokenInput!) {
  createApiToken(input: $input) {
    apiToken { id name role prefix createdBy { email } createdAt lastUsedAt expiresAt }
    secret
    errors { code message field }
  }
}"""

REVOKE = "mutation($id: ID!) { revokeApiToken(id: $id) { apiToken { id } errors { code field } } }"
LIST = "{ apiTokens { id name role prefix createdBy { email } lastUsedAt } }"
WHO = "{ viewer { email apiToken { name role } organization { name } } }"
USERS = "{ users { totalCount } }"


@pytest_asyncio.fixture
async def bearer(app) -> AsyncIterator[Callable[[str], GraphQLClient]]:  # type: ignore[no-untyped-def]
    """A factory of clients that send `Authorization: Bearer SECRET` and keep no cookies."""
    opened: list[httpx.AsyncClient] = []

    def make(secret: str, application=None) -> GraphQLClient:  # type: ignore[no-untyped-def]
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application or app),
            base_url="https://console.test",
            headers={"Authorization": f"Bearer {secret}"},
        )
        opened.append(http)
        return GraphQLClient(http)

    yield make
    for http in opened:
        await http.aclose()


async def create_token(client: GraphQLClient, role: str = "ADMIN", name: str = "HR sync", **extra: object) -> dict:
    data = await client.data(CREATE, {"input": {"name": name, "role": role, **extra}})
    return data["createApiToken"]


async def test_secret_shown_once_stored_hashed(team: Team) -> None:
    created = await create_token(team.admin)

    assert created["errors"] == []
    secret = created["secret"]
    assert secret.startswith("cut_")
    assert len(secret) >= 40
    assert created["apiToken"]["prefix"] == secret[:10]
    assert created["apiToken"]["createdBy"]["email"] == "adam@acme.example"
    stored = await ApiToken.get(id=int(created["apiToken"]["id"]))
    assert stored.token_hash == hash_token(secret)
    listed = (await team.reader.data(LIST))["apiTokens"]
    assert [token["name"] for token in listed] == ["HR sync"]
    assert secret not in str(listed)


async def test_bearer_acts_as_creator(team: Team, bearer) -> None:  # type: ignore[no-untyped-def]
    secret = (await create_token(team.admin))["secret"]
    client = bearer(secret)

    viewer = (await client.data(WHO))["viewer"]
    assert viewer["email"] == "adam@acme.example"
    assert viewer["apiToken"] == {"name": "HR sync", "role": "ADMIN"}
    invited = await client.invite("hire@acme.example", "READ_ONLY")
    assert invited["errors"] == []
    assert invited["user"]["invitedBy"]["email"] == "adam@acme.example"


async def test_token_events_name_token_and_creator(team: Team, bearer) -> None:  # type: ignore[no-untyped-def]
    created = await create_token(team.admin)
    await bearer(created["secret"]).invite("hire@acme.example", "READ_ONLY")

    event = await ActivityEvent.filter(description__contains="hire@acme.example").get()
    assert event.actor_kind is ActorKind.API_TOKEN
    assert event.api_token_id == int(created["apiToken"]["id"])  # type: ignore[attr-defined]
    assert event.actor_id == int(team.admin_id)  # type: ignore[attr-defined]
    assert "Adam Admin" in event.actor_name
    assert "HR sync" in event.actor_name


async def test_read_only_token_cannot_invite(team: Team, bearer) -> None:  # type: ignore[no-untyped-def]
    client = bearer((await create_token(team.admin, role="READ_ONLY"))["secret"])

    assert (await client.data(USERS))["users"]["totalCount"] == 3
    body = await client.post(INVITE, {"input": {"email": "hire@acme.example", "role": "READ_ONLY"}})
    assert top_level_codes(body) == ["FORBIDDEN"]


async def test_demoted_creator_caps_token(team: Team, bearer) -> None:  # type: ignore[no-untyped-def]
    client = bearer((await create_token(team.admin))["secret"])

    await team.owner.data(CHANGE_ROLE, {"id": team.admin_id, "role": "READ_ONLY"})
    body = await client.post(INVITE, {"input": {"email": "hire@acme.example", "role": "READ_ONLY"}})
    assert top_level_codes(body) == ["FORBIDDEN"]
    assert (await client.data(USERS))["users"]["totalCount"] == 3

    await team.owner.data(CHANGE_ROLE, {"id": team.admin_id, "role": "ADMIN"})
    invited = await client.invite("hire@acme.example", "READ_ONLY")
    assert invited["errors"] == []


async def test_removed_creator_stops_token(team: Team, bearer) -> None:  # type: ignore[no-untyped-def]
    client = bearer((await create_token(team.admin))["secret"])

    await team.owner.data(REMOVE, {"id": team.admin_id})

    assert top_level_codes(await client.post(USERS)) == ["UNAUTHENTICATED"]
    assert (await client.data(WHO))["viewer"] is None


async def test_revoked_token_stops_at_once(team: Team, bearer) -> None:  # type: ignore[no-untyped-def]
    created = await create_token(team.admin)
    client = bearer(created["secret"])
    assert (await client.data(USERS))["users"]["totalCount"] == 3

    revoked = (await team.owner.data(REVOKE, {"id": created["apiToken"]["id"]}))["revokeApiToken"]

    assert revoked["errors"] == []
    assert top_level_codes(await client.post(USERS)) == ["UNAUTHENTICATED"]
    assert (await team.owner.data(LIST))["apiTokens"] == []


async def test_revoking_unknown_token_not_found(team: Team) -> None:
    for token_id in ("999999", "abc", "99999999999999"):
        revoked = (await team.owner.data(REVOKE, {"id": token_id}))["revokeApiToken"]
        assert payload_codes(revoked) == ["NOT_FOUND"]


async def test_token_cannot_create_tokens(team: Team, bearer) -> None:  # type: ignore[no-untyped-def]
    client = bearer((await create_token(team.owner))["secret"])

    body = await client.post(CREATE, {"input": {"name": "second", "role": "ADMIN"}})

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert await ApiToken.all().count() == 1


async def test_owner_token_cannot_transfer(team: Team, bearer) -> None:  # type: ignore[no-untyped-def]
    client = bearer((await create_token(team.owner))["secret"])

    body = await client.post(TRANSFER, {"id": team.admin_id, "password": PASSWORD})

    assert top_level_codes(body) == ["FORBIDDEN"]
    owner = (await team.owner.data("{ organization { owner { id } } }"))["organization"]["owner"]
    assert owner["id"] == team.owner_id


async def test_token_cannot_switch_organization(team: Team, bearer) -> None:  # type: ignore[no-untyped-def]
    client = bearer((await create_token(team.owner))["secret"])
    switch = "mutation($id: ID!) { switchOrganization(organizationId: $id) { errors { code } } }"

    body = await client.post(switch, {"id": team.organization_id})

    assert top_level_codes(body) == ["FORBIDDEN"]


async def test_read_only_person_cannot_create(team: Team) -> None:
    body = await team.reader.post(CREATE, {"input": {"name": "mine", "role": "READ_ONLY"}})
    assert top_level_codes(body) == ["FORBIDDEN"]
    body = await team.anonymous.post(CREATE, {"input": {"name": "mine", "role": "READ_ONLY"}})
    assert top_level_codes(body) == ["UNAUTHENTICATED"]


async def test_expired_token_is_rejected(team: Team, bearer) -> None:  # type: ignore[no-untyped-def]
    created = await create_token(team.admin, expiresAt=(utcnow() + timedelta(days=1)).isoformat())
    assert created["apiToken"]["expiresAt"] is not None
    client = bearer(created["secret"])
    assert (await client.data(USERS))["users"]["totalCount"] == 3

    await ApiToken.filter(id=int(created["apiToken"]["id"])).update(expires_at=utcnow() - timedelta(seconds=1))

    assert top_level_codes(await client.post(USERS)) == ["UNAUTHENTICATED"]


async def test_past_expiry_and_bad_name_rejected(team: Team) -> None:
    past = await create_token(team.admin, expiresAt=(utcnow() - timedelta(hours=1)).isoformat())
    assert payload_codes(past) == ["INVALID_INPUT"]
    assert past["errors"][0]["field"] == ["input", "expiresAt"]
    for name in ("", "   ", "two\nlines", "x" * 101):
        created = await create_token(team.admin, name=name)
        assert payload_codes(created) == ["INVALID_INPUT"]
    assert await ApiToken.all().count() == 0


async def test_bearer_ignores_session_cookie(team: Team) -> None:
    # The owner's browser sends its cookie, but an Authorization header makes it a token request.
    response = await team.owner.http.post(
        "/graphql", json={"query": USERS}, headers={"Authorization": "Bearer cut_not-a-real-token"}
    )
    assert top_level_codes(response.json()) == ["UNAUTHENTICATED"]


async def test_last_used_is_recorded(team: Team, bearer) -> None:  # type: ignore[no-untyped-def]
    created = await create_token(team.admin)
    assert created["apiToken"]["lastUsedAt"] is None

    await bearer(created["secret"]).data(USERS)

    listed = (await team.admin.data(LIST))["apiTokens"]
    assert listed[0]["lastUsedAt"] is not None


async def test_token_requests_are_rate_limited(team: Team, bearer, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    limited_app = create_app(
        settings.model_copy(update={"api_token_requests_per_minute": 3}), manage_database=False, deliver_mail=False
    )
    client = bearer((await create_token(team.admin))["secret"], limited_app)

    for _ in range(3):
        await client.data(USERS)
    body = await client.post(USERS)

    assert top_level_codes(body) == ["RATE_LIMITED"]
    assert 1 <= body["errors"][0]["extensions"]["retryAfter"] <= 60


async def test_token_lifecycle_is_in_activity(team: Team) -> None:
    created = await create_token(team.admin, role="READ_ONLY", name="Audit bot")
    await team.owner.data(REVOKE, {"id": created["apiToken"]["id"]})

    events = (await team.owner.data("{ activity(first: 2) { edges { node { action actorName description } } } }"))
    newest, older = [edge["node"] for edge in events["activity"]["edges"]]
    assert newest["action"] == "API_TOKEN_REVOKED"
    assert newest["actorName"] == "Olivia Owner"
    assert "'Audit bot'" in newest["description"]
    assert older["action"] == "API_TOKEN_CREATED"
    assert older["actorName"] == "Adam Admin"
    assert "Read-Only" in older["description"]
