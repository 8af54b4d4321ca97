"""Signing in and out over HTTP, and how sessions follow role changes, removals and organizations.

Each `GraphQLClient` is one browser with its own cookie jar. To check that a session ended
on the server, and not only in one browser, a test copies the old cookie value into a
fresh browser and sends it again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from console_users.settings import Settings
from models import Membership
from resolvers.organizations import create_organization
from tests.conftest import Team
from tests.support import CHANGE_ROLE, PASSWORD, REMOVE, GraphQLClient, Mailbox, payload_codes, top_level_codes

COOKIE = "__Host-session"
# The host in the base URL of every test client.
HOST = "console.test"

LOGIN = """
mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    viewer { email organization { id name } }
    errors { code message field }
  }
}"""

LOGOUT = "mutation { logout }"

VIEWER = """
{
  viewer {
    email
    user { id role isOwner }
    organization { id name }
    organizations { id name }
  }
}"""

USERS = "{ users { totalCount edges { node { email } } } }"

INVITE = """
mutation($input: InviteUserInput!) {
  inviteUser(input: $input) { user { email status } errors { code } }
}"""

SWITCH = """
mutation($id: ID!) {
  switchOrganization(organizationId: $id) {
    viewer { organization { id name } }
    errors { code message field }
  }
}"""

ACME_EMAILS = {"olivia@acme.example", "adam@acme.example", "rita@acme.example"}


async def post_raw(client: GraphQLClient, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    """Post like `client.post`, but return the HTTP response so its headers can be read."""
    response = await client.http.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response


def session_set_cookies(response: httpx.Response) -> list[str]:
    return [header for header in response.headers.get_list("set-cookie") if header.startswith(f"{COOKIE}=")]


def parse_set_cookie(header: str) -> tuple[str, dict[str, str]]:
    """Split a Set-Cookie header into the cookie value and its attributes, keyed in lower case."""
    pair, *attributes = (part.strip() for part in header.split(";"))
    value = pair.partition("=")[2]
    parsed: dict[str, str] = {}
    for attribute in attributes:
        key, _, attribute_value = attribute.partition("=")
        parsed[key.lower()] = attribute_value
    return value, parsed


def session_cookie(client: GraphQLClient) -> str:
    value = client.http.cookies.get(COOKIE)
    assert value, f"the browser holds no {COOKIE} cookie"
    return value


def browser_with_cookie(new_client: Callable[[], GraphQLClient], value: str) -> GraphQLClient:
    """Open a fresh browser that sends `value` as its session cookie."""
    browser = new_client()
    browser.http.cookies.set(COOKIE, value, domain=HOST, path="/")
    return browser


async def viewer_of(client: GraphQLClient) -> dict[str, Any] | None:
    data = await client.data(VIEWER)
    return data["viewer"]


async def users_emails(client: GraphQLClient) -> set[str]:
    data = await client.data(USERS)
    return {edge["node"]["email"] for edge in data["users"]["edges"]}


async def change_role(client: GraphQLClient, user_id: str, role: str) -> None:
    data = await client.data(CHANGE_ROLE, {"id": user_id, "role": role})
    assert data["changeUserRole"]["errors"] == []


async def remove(client: GraphQLClient, user_id: str) -> None:
    data = await client.data(REMOVE, {"id": user_id})
    assert data["removeUser"]["errors"] == []


async def switch(client: GraphQLClient, organization_id: str) -> dict[str, Any]:
    data = await client.data(SWITCH, {"id": organization_id})
    return data["switchOrganization"]


async def found_organization(
    settings: Settings, new_client: Callable[[], GraphQLClient], name: str, owner_email: str
) -> tuple[str, GraphQLClient]:
    """Create an organization whose owner address already has an account, and accept as that account.

    Return the organization's id and the browser that accepted, which is signed in to it.
    """
    organization, invitation = await create_organization(settings, name, owner_email)
    browser = new_client()
    accepted = await browser.accept(invitation.token, None, PASSWORD)
    assert accepted["errors"] == [], accepted
    return str(organization.id), browser


# Signing in


async def test_login_sets_secure_session_cookie(team: Team) -> None:
    response = await post_raw(team.anonymous, LOGIN, {"email": "rita@acme.example", "password": PASSWORD})

    headers = session_set_cookies(response)
    assert len(headers) == 1
    value, attributes = parse_set_cookie(headers[0])
    assert value != ""
    assert "httponly" in attributes
    assert "secure" in attributes
    assert attributes["samesite"].lower() == "lax"
    assert attributes["path"] == "/"
    # The __Host- prefix is only accepted by browsers without a Domain attribute.
    assert "domain" not in attributes
    viewer = await viewer_of(team.anonymous)
    assert viewer is not None
    assert viewer["email"] == "rita@acme.example"


async def test_login_ignores_email_letter_case(team: Team) -> None:
    payload = (await team.anonymous.data(LOGIN, {"email": "Rita@ACME.Example", "password": PASSWORD}))["login"]

    assert payload["errors"] == []
    assert payload["viewer"]["email"] == "rita@acme.example"
    viewer = await viewer_of(team.anonymous)
    assert viewer is not None
    assert viewer["email"] == "rita@acme.example"


@pytest.mark.parametrize(
    ("email", "password"),
    [
        pytest.param("nobody@acme.example", PASSWORD, id="unknown-email"),
        pytest.param("rita@acme.example", "wrong horse battery", id="wrong-password"),
    ],
)
async def test_failed_login_gives_invalid_credentials(team: Team, email: str, password: str) -> None:
    response = await post_raw(team.anonymous, LOGIN, {"email": email, "password": password})

    payload = response.json()["data"]["login"]
    assert payload_codes(payload) == ["INVALID_CREDENTIALS"]
    assert payload["viewer"] is None
    assert session_set_cookies(response) == []
    assert await viewer_of(team.anonymous) is None


async def test_failed_logins_share_one_message(team: Team) -> None:
    unknown = await team.anonymous.data(LOGIN, {"email": "nobody@acme.example", "password": PASSWORD})
    wrong = await team.anonymous.data(LOGIN, {"email": "rita@acme.example", "password": "wrong horse battery"})

    unknown_error = unknown["login"]["errors"][0]
    wrong_error = wrong["login"]["errors"][0]
    assert unknown_error["message"] == wrong_error["message"]
    assert unknown_error["field"] == wrong_error["field"]


async def test_removed_member_gets_no_access(team: Team, new_client: Callable[[], GraphQLClient]) -> None:
    await remove(team.owner, team.reader_id)
    browser = new_client()

    response = await post_raw(browser, LOGIN, {"email": "rita@acme.example", "password": PASSWORD})

    payload = response.json()["data"]["login"]
    assert payload_codes(payload) == ["NO_ACCESS"]
    assert payload["viewer"] is None
    assert session_set_cookies(response) == []


async def test_new_login_replaces_earlier_session(team: Team, new_client: Callable[[], GraphQLClient]) -> None:
    other_browser = new_client()
    await other_browser.login("adam@acme.example")
    old_value = session_cookie(team.admin)
    # The copied cookie signs a fresh browser in while the session lasts.
    assert (await viewer_of(browser_with_cookie(new_client, old_value)) or {}).get("email") == "adam@acme.example"

    payload = await team.admin.login("adam@acme.example")

    assert payload["errors"] == []
    assert session_cookie(team.admin) != old_value
    assert await viewer_of(browser_with_cookie(new_client, old_value)) is None
    assert (await viewer_of(team.admin) or {}).get("email") == "adam@acme.example"
    # Only this browser's earlier session ends. The account's other browsers stay signed in.
    assert (await viewer_of(other_browser) or {}).get("email") == "adam@acme.example"


async def test_logout_ends_session_on_server(team: Team, new_client: Callable[[], GraphQLClient]) -> None:
    old_value = session_cookie(team.reader)
    # The copied cookie signs a fresh browser in while the session lasts.
    assert (await viewer_of(browser_with_cookie(new_client, old_value)) or {}).get("email") == "rita@acme.example"

    response = await post_raw(team.reader, LOGOUT)

    assert response.json() == {"data": {"logout": True}}
    assert await viewer_of(browser_with_cookie(new_client, old_value)) is None


async def test_logout_clears_session_cookie(team: Team) -> None:
    response = await post_raw(team.reader, LOGOUT)

    headers = session_set_cookies(response)
    assert len(headers) == 1
    _, attributes = parse_set_cookie(headers[0])
    assert attributes["max-age"] == "0"
    assert attributes["path"] == "/"
    assert "secure" in attributes
    assert team.reader.http.cookies.get(COOKIE) is None
    assert await viewer_of(team.reader) is None


async def test_viewer_without_session_is_null(new_client: Callable[[], GraphQLClient]) -> None:
    body = await new_client().post(VIEWER)

    assert "errors" not in body
    assert body["data"] == {"viewer": None}


# Role changes and removal take effect on the next request


async def test_demoted_admin_loses_admin_at_once(team: Team) -> None:
    await change_role(team.owner, team.admin_id, "READ_ONLY")

    invited = await team.admin.post(INVITE, {"input": {"email": "nina@acme.example", "role": "READ_ONLY"}})

    assert top_level_codes(invited) == ["FORBIDDEN"]
    assert invited["data"] is None
    assert await Membership.filter(email="nina@acme.example").count() == 0
    assert await users_emails(team.admin) == ACME_EMAILS


async def test_promoted_reader_gains_admin_at_once(team: Team) -> None:
    await change_role(team.owner, team.reader_id, "ADMIN")

    invited = await team.reader.invite("nina@acme.example", "READ_ONLY")

    assert invited["errors"] == []
    assert invited["user"]["email"] == "nina@acme.example"
    assert invited["user"]["status"] == "INVITED"


async def test_removed_admin_loses_access_at_once(team: Team) -> None:
    await remove(team.owner, team.admin_id)

    listed = await team.admin.post(USERS)

    assert top_level_codes(listed) == ["UNAUTHENTICATED"]
    assert listed["data"] is None
    assert await viewer_of(team.admin) is None


# Several organizations


async def test_member_of_two_sees_both(team: Team, settings: Settings, new_client: Callable[[], GraphQLClient]) -> None:
    globex_id, _ = await found_organization(settings, new_client, "Globex", "adam@acme.example")

    viewer = await viewer_of(team.admin)

    assert viewer is not None
    assert viewer["organizations"] == [
        {"id": team.organization_id, "name": "Acme"},
        {"id": globex_id, "name": "Globex"},
    ]


async def test_login_opens_latest_joined_organization(
    team: Team, settings: Settings, new_client: Callable[[], GraphQLClient]
) -> None:
    globex_id, _ = await found_organization(settings, new_client, "Globex", "adam@acme.example")
    browser = new_client()

    payload = await browser.login("adam@acme.example")

    assert payload["errors"] == []
    assert payload["viewer"]["organization"]["id"] == globex_id
    assert (await viewer_of(browser) or {}).get("organization") == {"id": globex_id, "name": "Globex"}


async def test_login_uses_join_time_not_ids(
    team: Team,
    settings: Settings,
    new_client: Callable[[], GraphQLClient],
    mailbox: Mailbox,
    deliver: Callable[[], Awaitable[int]],
) -> None:
    # Acme invites first and Globex is created afterwards, so Globex has both the newer
    # organization and the newer membership. The person joins Globex first and Acme last.
    acme_invitation = await team.owner.invite("gina@example.com", "READ_ONLY")
    assert acme_invitation["errors"] == []
    await deliver()
    acme_token = mailbox.invitation_token("gina@example.com")
    _, globex_invitation = await create_organization(settings, "Globex", "gina@example.com")
    first = await new_client().accept(globex_invitation.token, "Gina Green", PASSWORD)
    assert first["errors"] == []
    second = await new_client().accept(acme_token, None, PASSWORD)
    assert second["errors"] == []
    browser = new_client()

    payload = await browser.login("gina@example.com")

    assert payload["errors"] == []
    assert payload["viewer"]["organization"]["id"] == team.organization_id


async def test_switch_changes_viewer_and_users(
    team: Team, settings: Settings, new_client: Callable[[], GraphQLClient]
) -> None:
    globex_id, _ = await found_organization(settings, new_client, "Globex", "adam@acme.example")
    assert await users_emails(team.admin) == ACME_EMAILS

    payload = await switch(team.admin, globex_id)

    assert payload["errors"] == []
    assert payload["viewer"]["organization"] == {"id": globex_id, "name": "Globex"}
    viewer = await viewer_of(team.admin)
    assert viewer is not None
    assert viewer["organization"] == {"id": globex_id, "name": "Globex"}
    assert viewer["user"]["isOwner"] is True
    assert await users_emails(team.admin) == {"adam@acme.example"}


async def test_switch_back_restores_first_organization(
    team: Team, settings: Settings, new_client: Callable[[], GraphQLClient]
) -> None:
    globex_id, browser = await found_organization(settings, new_client, "Globex", "adam@acme.example")
    assert await users_emails(browser) == {"adam@acme.example"}

    payload = await switch(browser, team.organization_id)

    assert payload["errors"] == []
    viewer = await viewer_of(browser)
    assert viewer is not None
    assert viewer["organization"] == {"id": team.organization_id, "name": "Acme"}
    assert viewer["user"]["id"] == team.admin_id
    assert viewer["user"]["isOwner"] is False
    assert await users_emails(browser) == ACME_EMAILS


async def test_switch_to_foreign_organization_not_found(team: Team, settings: Settings) -> None:
    globex, _ = await create_organization(settings, "Globex", "gus@globex.example")

    payload = await switch(team.admin, str(globex.id))

    assert payload_codes(payload) == ["NOT_FOUND"]
    assert payload["errors"][0]["field"] == ["organizationId"]
    assert str(globex.id) in payload["errors"][0]["message"]
    assert payload["viewer"] is None
    assert (await viewer_of(team.admin) or {}).get("organization") == {"id": team.organization_id, "name": "Acme"}


@pytest.mark.parametrize(
    "organization_id",
    [
        pytest.param("999999", id="unused-id"),
        # One past the largest 32-bit integer, the type of the id columns on PostgreSQL.
        pytest.param("2147483648", id="past-int32"),
    ],
)
async def test_switch_to_unknown_id_not_found(team: Team, organization_id: str) -> None:
    body = await team.admin.post(SWITCH, {"id": organization_id})

    assert "errors" not in body, body["errors"]
    payload = body["data"]["switchOrganization"]
    assert payload_codes(payload) == ["NOT_FOUND"]
    assert organization_id in payload["errors"][0]["message"]
    assert (await viewer_of(team.admin) or {}).get("organization") == {"id": team.organization_id, "name": "Acme"}


async def test_switch_to_left_organization_not_found(
    team: Team, settings: Settings, new_client: Callable[[], GraphQLClient]
) -> None:
    globex_id, browser = await found_organization(settings, new_client, "Globex", "adam@acme.example")
    await remove(team.owner, team.admin_id)

    payload = await switch(browser, team.organization_id)

    assert payload_codes(payload) == ["NOT_FOUND"]
    assert payload["viewer"] is None
    assert (await viewer_of(browser) or {}).get("organization") == {"id": globex_id, "name": "Globex"}


async def test_removal_ends_only_that_organizations_sessions(
    team: Team, settings: Settings, new_client: Callable[[], GraphQLClient]
) -> None:
    globex_id, in_globex = await found_organization(settings, new_client, "Globex", "adam@acme.example")
    switched_to_acme = new_client()
    await switched_to_acme.login("adam@acme.example")
    assert (await switch(switched_to_acme, team.organization_id))["errors"] == []

    await remove(team.owner, team.admin_id)

    assert await viewer_of(team.admin) is None
    assert await viewer_of(switched_to_acme) is None
    viewer = await viewer_of(in_globex)
    assert viewer is not None
    assert viewer["organization"] == {"id": globex_id, "name": "Globex"}
    assert viewer["organizations"] == [{"id": globex_id, "name": "Globex"}]


async def test_removed_from_latest_logs_into_other(
    team: Team,
    settings: Settings,
    new_client: Callable[[], GraphQLClient],
    mailbox: Mailbox,
    deliver: Callable[[], Awaitable[int]],
) -> None:
    # Adam joins Globex, which someone else owns, after Acme. Then Globex's owner removes him.
    _, owner_invitation = await create_organization(settings, "Globex", "gus@globex.example")
    globex_owner = new_client()
    assert (await globex_owner.accept(owner_invitation.token, "Gus Globex", PASSWORD))["errors"] == []
    invited = await globex_owner.invite("adam@acme.example", "READ_ONLY")
    assert invited["errors"] == []
    await deliver()
    in_globex = new_client()
    assert (await in_globex.accept(mailbox.invitation_token("adam@acme.example"), None, PASSWORD))["errors"] == []
    await remove(globex_owner, invited["user"]["id"])
    browser = new_client()

    payload = await browser.login("adam@acme.example")

    assert payload["errors"] == []
    assert payload["viewer"]["organization"]["id"] == team.organization_id
    assert await users_emails(browser) == ACME_EMAILS
    assert await viewer_of(in_globex) is None
    assert (await viewer_of(team.admin) or {}).get("organization") == {"id": team.organization_id, "name": "Acme"}
