"""Browser safety at the HTTP level: CORS, origin checks for cookie sessions, body types, headers.

The test settings' CONSOLE_URL is https://console.test, and every client addresses the server as
https://console.test, so the console's origin is also the server's own unless a test changes it.
"""

from __future__ import annotations

import httpx

from console_users.settings import Settings
from tests.conftest import Team
from tests.hardening import BASE_URL, GRAPHQL_RESPONSE, JSON, ClientFactory, client_with, codes, post_json  # noqa: F401
from tests.support import INVITE, VIEWER

PARTNER_ORIGIN = "https://partner.example"
FOREIGN_ORIGIN = "https://evil.example"
CREATE_TOKEN = """
mutation { createApiToken(input: {name: "HR sync", role: READ_ONLY}) { secret errors { code } } }"""
INVITE_ANN = {"input": {"email": "ann@acme.example", "role": "READ_ONLY"}}
USERS_COUNT = "{ users { totalCount } }"


async def user_count(team: Team) -> int:
    return int((await team.owner.data(USERS_COUNT))["users"]["totalCount"])


# CORS


async def test_preflight_from_console_allowed(team: Team) -> None:
    response = await team.anonymous.http.options(
        "/graphql",
        headers={"Origin": BASE_URL, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == BASE_URL
    assert response.headers["access-control-allow-credentials"] == "true"


async def test_preflight_from_foreign_origin_rejected(team: Team) -> None:
    response = await team.anonymous.http.options(
        "/graphql",
        headers={"Origin": FOREIGN_ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
    )

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_allowed_origins_replace_console_origin(team: Team, client_with: ClientFactory) -> None:
    http = client_with(allowed_origins=(PARTNER_ORIGIN,))

    partner = await http.options("/graphql", headers={"Origin": PARTNER_ORIGIN, "Access-Control-Request-Method": "POST"})
    console = await http.options("/graphql", headers={"Origin": BASE_URL, "Access-Control-Request-Method": "POST"})

    assert partner.headers["access-control-allow-origin"] == PARTNER_ORIGIN
    assert console.status_code == 400


# Cookie sessions from other origins


async def test_cookie_post_from_foreign_origin_refused(team: Team) -> None:
    response = await post_json(team.owner.http, INVITE, INVITE_ANN, Origin=FOREIGN_ORIGIN)

    assert response.status_code == 403
    assert codes(response.json()) == ["CROSS_ORIGIN_REQUEST"]
    assert await user_count(team) == 3


async def test_cookie_post_cross_site_fetch_refused(team: Team) -> None:
    response = await post_json(team.owner.http, INVITE, INVITE_ANN, Sec_Fetch_Site="cross-site")

    assert response.status_code == 403
    assert codes(response.json()) == ["CROSS_ORIGIN_REQUEST"]
    assert await user_count(team) == 3


async def test_cookie_post_same_site_fetch_refused(team: Team) -> None:
    response = await post_json(team.owner.http, VIEWER, Sec_Fetch_Site="same-site")

    assert response.status_code == 403
    assert codes(response.json()) == ["CROSS_ORIGIN_REQUEST"]


async def test_cookie_post_null_origin_refused(team: Team) -> None:
    response = await post_json(team.owner.http, VIEWER, Origin="null")

    assert response.status_code == 403
    assert codes(response.json()) == ["CROSS_ORIGIN_REQUEST"]


async def test_cookie_post_from_console_allowed(team: Team) -> None:
    response = await post_json(team.owner.http, VIEWER, Origin=BASE_URL, Sec_Fetch_Site="same-origin")

    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["email"] == "olivia@acme.example"


async def test_cookie_post_from_own_origin_allowed(team: Team, client_with: ClientFactory) -> None:
    # The console lives elsewhere; a page served by the API's own origin (GraphiQL) still works.
    http = client_with(cookies=team.owner.http.cookies, allowed_origins=(PARTNER_ORIGIN,))

    response = await post_json(http, VIEWER, Origin=BASE_URL)

    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["email"] == "olivia@acme.example"


async def test_cookie_post_same_origin_fetch_allowed(team: Team) -> None:
    response = await post_json(team.owner.http, VIEWER, Sec_Fetch_Site="same-origin")

    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["email"] == "olivia@acme.example"


async def test_cookie_post_without_browser_headers_allowed(team: Team) -> None:
    response = await post_json(team.owner.http, VIEWER)

    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["email"] == "olivia@acme.example"


async def test_foreign_origin_without_cookie_allowed(team: Team) -> None:
    response = await post_json(team.anonymous.http, VIEWER, Origin=FOREIGN_ORIGIN)

    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": None}}


async def test_bearer_request_skips_origin_checks(team: Team, new_client) -> None:  # type: ignore[no-untyped-def]
    created = (await team.owner.data(CREATE_TOKEN))["createApiToken"]
    integration = new_client()

    response = await post_json(
        integration.http, VIEWER, Origin=FOREIGN_ORIGIN, Sec_Fetch_Site="cross-site",
        Authorization=f"Bearer {created['secret']}",
    )

    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["email"] == "olivia@acme.example"


# GET requests


async def test_get_with_session_cookie_refused(team: Team) -> None:
    response = await team.owner.http.get("/graphql", params={"query": VIEWER})

    assert response.status_code == 403
    assert codes(response.json()) == ["POST_REQUIRED"]


async def test_get_with_session_cookie_setting_allows(team: Team, client_with: ClientFactory) -> None:
    http = client_with(cookies=team.owner.http.cookies, get_with_session_cookie=True)

    response = await http.get("/graphql", params={"query": VIEWER})

    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["email"] == "olivia@acme.example"


async def test_get_cross_site_link_refused_even_when_allowed(team: Team, client_with: ClientFactory) -> None:
    http = client_with(cookies=team.owner.http.cookies, get_with_session_cookie=True)

    response = await http.get("/graphql", params={"query": VIEWER}, headers={"Sec-Fetch-Site": "cross-site"})

    assert response.status_code == 403
    assert codes(response.json()) == ["CROSS_ORIGIN_REQUEST"]


async def test_get_without_cookie_runs_query(team: Team) -> None:
    response = await team.anonymous.http.get("/graphql", params={"query": VIEWER})

    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": None}}


async def test_get_cannot_run_mutation(team: Team) -> None:
    response = await team.anonymous.http.get("/graphql", params={"query": "mutation { logout }"})

    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]


# Request bodies


async def test_form_post_rejected(team: Team) -> None:
    response = await team.owner.http.post("/graphql", data={"query": "mutation { logout }"})

    assert response.status_code == 415
    assert codes(response.json()) == ["UNSUPPORTED_MEDIA_TYPE"]
    assert (await team.owner.data(VIEWER))["viewer"] is not None


async def test_non_json_body_types_rejected(team: Team) -> None:
    body = b'{"query": "{ viewer { email } }"}'
    for content_type in ("text/plain", "multipart/form-data; boundary=x", "application/graphql", "application/json; charset=latin-1", "application/jsonx"):
        response = await team.anonymous.http.post("/graphql", content=body, headers={"Content-Type": content_type})

        assert response.status_code == 415, content_type
        assert codes(response.json()) == ["UNSUPPORTED_MEDIA_TYPE"], content_type


async def test_missing_content_type_rejected(team: Team) -> None:
    response = await team.anonymous.http.post("/graphql", content=b'{"query": "{ viewer { email } }"}')

    assert response.status_code == 415
    assert codes(response.json()) == ["UNSUPPORTED_MEDIA_TYPE"]


async def test_json_body_types_accepted(team: Team) -> None:
    body = b'{"query": "{ viewer { email } }"}'
    for content_type in ("application/json", "application/json; charset=utf-8", "Application/JSON", GRAPHQL_RESPONSE):
        response = await team.owner.http.post("/graphql", content=body, headers={"Content-Type": content_type})

        assert response.status_code == 200, content_type
        assert response.json()["data"]["viewer"]["email"] == "olivia@acme.example", content_type


# Response headers


async def test_api_responses_carry_security_headers(team: Team) -> None:
    for response in (await post_json(team.anonymous.http, VIEWER), await team.anonymous.http.get("/healthz")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")


async def test_refusals_carry_security_headers(team: Team) -> None:
    response = await team.anonymous.http.post("/graphql", content=b"query", headers={"Content-Type": "text/plain"})

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


async def test_graphiql_page_policy_allows_only_its_scripts(client_with: ClientFactory) -> None:
    http = client_with(graphiql=True)

    response = await http.get("/graphql", headers={"Accept": "text/html"})

    policy = response.headers["content-security-policy"]
    assert response.status_code == 200
    assert "script-src 'self' 'sha256-" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"


# Production defaults


def test_defaults_turn_off_explorer_features() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]

    assert defaults.graphiql is False
    assert defaults.introspection is False
    assert defaults.field_suggestions is False
    assert defaults.get_with_session_cookie is False
    assert defaults.trusted_origins == frozenset({"http://localhost:3000"})


async def test_graphiql_off_by_default(team: Team) -> None:
    response = await team.anonymous.http.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 404
    assert codes(response.json()) == ["NOT_FOUND"]


async def test_introspection_off_by_default(team: Team) -> None:
    body = await team.anonymous.post("{ __schema { types { name } } }")

    assert body.get("data") is None
    assert codes(body) == ["INTROSPECTION_DISABLED"]


async def test_type_introspection_off_by_default(team: Team) -> None:
    body = await team.anonymous.post('{ __type(name: "User") { fields { name } } }')

    assert codes(body) == ["INTROSPECTION_DISABLED"]


async def test_typename_stays_available(team: Team) -> None:
    body = await team.anonymous.post("{ __typename }")

    assert body == {"data": {"__typename": "Query"}}


async def test_introspection_setting_turns_it_on(client_with: ClientFactory) -> None:
    http = client_with(introspection=True)

    body = (await post_json(http, "{ __schema { queryType { name } } }")).json()

    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_suggestions_off_by_default(team: Team) -> None:
    field = await team.anonymous.post("{ viewr { email } }")
    enum_value = await team.owner.post(
        "mutation { inviteUser(input: {email: \"ann@acme.example\", role: ADMN}) { errors { code } } }"
    )

    assert "Did you mean" not in field["errors"][0]["message"]
    assert "viewer" not in field["errors"][0]["message"]
    assert "Did you mean" not in enum_value["errors"][0]["message"]
    assert "ADMIN" not in enum_value["errors"][0]["message"]


async def test_suggestions_setting_turns_them_on(client_with: ClientFactory) -> None:
    http = client_with(field_suggestions=True)

    body = (await post_json(http, "{ viewr { email } }")).json()

    assert "Did you mean 'viewer'" in body["errors"][0]["message"]


# Media types and status codes (GraphQL over HTTP)


async def test_graphql_response_media_type_negotiated(team: Team) -> None:
    response = await post_json(team.anonymous.http, VIEWER, Accept=f"{GRAPHQL_RESPONSE}, application/json;q=0.9")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert response.json() == {"data": {"viewer": None}}


async def test_json_preferred_when_ranked_higher(team: Team) -> None:
    response = await post_json(team.anonymous.http, VIEWER, Accept=f"{GRAPHQL_RESPONSE};q=0.5, application/json")

    assert response.headers["content-type"].startswith("application/json")


async def test_request_errors_get_400_without_data(team: Team) -> None:
    cases = {
        "parse": ("{ viewer {", None),
        "validation": ("{ nosuchfield }", None),
        "variables": ("query($id: ID!) { user(id: $id) { email } }", {"id": None}),
        "limit": ("{ a: __typename b: __typename c: __typename d: __typename e: __typename f: __typename "
                  "g: __typename h: __typename i: __typename j: __typename k: __typename l: __typename "
                  "m: __typename n: __typename o: __typename p: __typename }", None),
    }
    for name, (query, variables) in cases.items():
        response = await post_json(team.anonymous.http, query, variables, Accept=GRAPHQL_RESPONSE)

        assert response.status_code == 400, name
        assert "data" not in response.json(), name
        assert len(response.json()["errors"]) >= 1, name


async def test_request_errors_get_200_as_json(team: Team) -> None:
    response = await post_json(team.anonymous.http, "{ nosuchfield }", Accept="application/json")

    assert response.status_code == 200
    assert response.json()["data"] is None


async def test_field_errors_keep_200_and_data(team: Team) -> None:
    response = await post_json(team.anonymous.http, "{ organization { name } }", Accept=GRAPHQL_RESPONSE)

    assert response.status_code == 200
    assert response.json()["data"] is None
    assert codes(response.json()) == ["UNAUTHENTICATED"]
