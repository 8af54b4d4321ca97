"""Account self-service over HTTP: password reset and change, profile, sessions, email change.

Mail goes through the outbox to the test SMTP server, and links are read from the messages it
received, as a person would read them. A session is shown to have ended on the server by the
client that held it getting `viewer: null`.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import pytest
import pytest_asyncio
from tortoise.transactions import in_transaction

from console_users.app import create_app
from console_users.clock import utcnow
from console_users.settings import Settings
from mailer.render import render_message
from models import Account, AccountToken, AccountTokenPurpose, Membership, OutboxMessage, Role, Session
from resolvers import activity
from resolvers.invitations import invite_into
from resolvers.organizations import create_organization
from resolvers.user_agents import describe_client
from tests.conftest import Team
from tests.support import PASSWORD, GraphQLClient, Mailbox, html_of, payload_codes, text_of, top_level_codes

T = TypeVar("T")
Deliver = Callable[[], Awaitable[int]]
NewClient = Callable[[], GraphQLClient]

NEW_PASSWORD = "a brand new passphrase"
RACE_ROUNDS = 16

REQUEST_RESET = """
mutation($email: String!) {
  requestPasswordReset(email: $email) { errors { code message field } }
}"""

RESET = """
mutation($token: String!, $password: String!) {
  resetPassword(token: $token, password: $password) {
    viewer { email organization { name } }
    errors { code message field }
  }
}"""

CHANGE_PASSWORD = """
mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) {
    viewer { email }
    errors { code message field }
  }
}"""

UPDATE_PROFILE = """
mutation($name: String!) {
  updateProfile(name: $name) { viewer { name } errors { code message field } }
}"""

SESSIONS = "{ sessions { id createdAt lastUsedAt client isCurrent } }"

REVOKE_SESSION = """
mutation($id: ID!) {
  revokeSession(id: $id) { sessions { id isCurrent } errors { code message field } }
}"""

SIGN_OUT_EVERYWHERE = "mutation { signOutEverywhere }"

REQUEST_EMAIL_CHANGE = """
mutation($newEmail: String!, $password: String!) {
  requestEmailChange(newEmail: $newEmail, password: $password) { errors { code message field } }
}"""

CONFIRM_EMAIL_CHANGE = """
mutation($token: String!) {
  confirmEmailChange(token: $token) { email errors { code message field } }
}"""

VIEWER = "{ viewer { email name } }"
USERS = "{ users { edges { node { email name } } } }"
INVITE = "mutation($email: String!) { inviteUser(input: {email: $email, role: READ_ONLY}) { errors { code } } }"
ACTIVITY = "{ activity { edges { node { action actorName } } } }"

FIREFOX_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)


# Helpers


def link_token(mailbox: Mailbox, address: str, path: str) -> str:
    """Return the token of the newest link to `path` mailed to `address`."""
    pattern = re.compile(rf"/{re.escape(path)}\?token=([A-Za-z0-9_\-]+)")
    for message in reversed(mailbox.to(address)):
        match = pattern.search(text_of(message))
        if match:
            return match.group(1)
    raise AssertionError(f"no {path} link mailed to {address}; got mail to {[m['To'] for m in mailbox.messages]}")


def subjects_to(mailbox: Mailbox, address: str) -> list[str]:
    return [str(message["Subject"]) for message in mailbox.to(address)]


async def request_reset(client: GraphQLClient, address: str) -> dict[str, Any]:
    data = await client.data(REQUEST_RESET, {"email": address})
    return data["requestPasswordReset"]


async def reset_token(client: GraphQLClient, mailbox: Mailbox, deliver: Deliver, address: str) -> str:
    """Request a reset for `address`, deliver the mail and return the link's token."""
    requested = await request_reset(client, address)
    assert requested["errors"] == []
    await deliver()
    return link_token(mailbox, address, "reset-password")


async def reset(client: GraphQLClient, token: str, password: str = NEW_PASSWORD) -> dict[str, Any]:
    data = await client.data(RESET, {"token": token, "password": password})
    return data["resetPassword"]


async def change_password(client: GraphQLClient, current: str, new: str) -> dict[str, Any]:
    data = await client.data(CHANGE_PASSWORD, {"current": current, "new": new})
    return data["changePassword"]


async def request_email_change(client: GraphQLClient, new_email: str, password: str = PASSWORD) -> dict[str, Any]:
    data = await client.data(REQUEST_EMAIL_CHANGE, {"newEmail": new_email, "password": password})
    return data["requestEmailChange"]


async def email_change_token(client: GraphQLClient, mailbox: Mailbox, deliver: Deliver, new_email: str) -> str:
    """Request a change to `new_email`, deliver the mail and return the confirmation link's token."""
    requested = await request_email_change(client, new_email)
    assert requested["errors"] == []
    await deliver()
    return link_token(mailbox, new_email, "confirm-email-change")


async def confirm(client: GraphQLClient, token: str) -> dict[str, Any]:
    data = await client.data(CONFIRM_EMAIL_CHANGE, {"token": token})
    return data["confirmEmailChange"]


async def viewer_of(client: GraphQLClient) -> dict[str, Any] | None:
    data = await client.data(VIEWER)
    return data["viewer"]


async def signed_in_client(new_client: NewClient, address: str, user_agent: str | None = None) -> GraphQLClient:
    client = new_client()
    if user_agent is not None:
        client.http.headers["User-Agent"] = user_agent
    signed_in = await client.login(address)
    assert signed_in["errors"] == [], signed_in
    return client


async def session_list(client: GraphQLClient) -> list[dict[str, Any]]:
    data = await client.data(SESSIONS)
    return data["sessions"]  # type: ignore[no-any-return]


async def session_ids(client: GraphQLClient) -> list[int]:
    """Return the ids of the client's account's sessions, its own first."""
    listed = sorted(await session_list(client), key=lambda row: not row["isCurrent"])
    return [int(row["id"]) for row in listed]


def rate_limited(body: dict[str, Any]) -> bool:
    return top_level_codes(body) == ["RATE_LIMITED"]


# Password reset: asking for a link


async def test_reset_answer_same_for_unknown(team: Team) -> None:
    known = await team.anonymous.post(REQUEST_RESET, {"email": "rita@acme.example"})
    unknown = await team.anonymous.post(REQUEST_RESET, {"email": "nobody@acme.example"})

    assert known == unknown
    assert known == {"data": {"requestPasswordReset": {"errors": []}}}


async def test_reset_mails_link_only_to_account(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    await request_reset(team.anonymous, "Rita@Acme.Example")
    await request_reset(team.anonymous, "nobody@acme.example")
    await deliver()

    assert len(mailbox.to("rita@acme.example")) == 1
    assert mailbox.to("nobody@acme.example") == []
    assert "https://console.test/reset-password?token=" in text_of(mailbox.to("rita@acme.example")[0])
    assert 'href="https://console.test/reset-password?token=' in html_of(mailbox.to("rita@acme.example")[0])


async def test_reset_mail_names_expiry(team: Team, mailbox: Mailbox, deliver: Deliver, settings: Settings) -> None:
    await request_reset(team.anonymous, "rita@acme.example")
    await deliver()
    token = await AccountToken.get(purpose=AccountTokenPurpose.PASSWORD_RESET)

    lifetime = token.expires_at - token.created_at
    assert abs(lifetime.total_seconds() - settings.password_reset_ttl_seconds) < 5
    assert token.expires_at.strftime("%Y-%m-%d %H:%M UTC") in text_of(mailbox.to("rita@acme.example")[0])


async def test_reset_token_stored_as_hash(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    token = await reset_token(team.anonymous, mailbox, deliver, "rita@acme.example")

    stored = await AccountToken.get(purpose=AccountTokenPurpose.PASSWORD_RESET)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert await AccountToken.filter(token_hash=token).count() == 0


async def test_delivered_reset_mail_is_redacted(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    token = await reset_token(team.anonymous, mailbox, deliver, "rita@acme.example")

    stored = await OutboxMessage.get(kind="password_reset")
    assert token not in stored.text_body
    assert token not in stored.html_body


async def test_malformed_reset_address_rejected(team: Team) -> None:
    requested = await request_reset(team.anonymous, "not an address")

    assert payload_codes(requested) == ["INVALID_INPUT"]
    assert requested["errors"][0]["field"] == ["email"]


# Password reset: using the link


async def test_reset_sets_password_and_signs_in(team: Team, mailbox: Mailbox, deliver: Deliver, new_client: NewClient) -> None:
    token = await reset_token(team.anonymous, mailbox, deliver, "rita@acme.example")
    browser = new_client()

    result = await reset(browser, token)

    assert result["errors"] == []
    assert result["viewer"]["email"] == "rita@acme.example"
    assert (await viewer_of(browser)) == {"email": "rita@acme.example", "name": "Rita Reader"}
    assert (await new_client().login("rita@acme.example", NEW_PASSWORD))["errors"] == []
    assert payload_codes(await new_client().login("rita@acme.example", PASSWORD)) == ["INVALID_CREDENTIALS"]


async def test_reset_link_works_once(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    token = await reset_token(team.anonymous, mailbox, deliver, "rita@acme.example")

    first = await reset(team.anonymous, token)
    second = await reset(team.anonymous, token, "yet another passphrase")

    assert first["errors"] == []
    assert payload_codes(second) == ["PASSWORD_RESET_INVALID"]
    assert second["errors"][0]["field"] == ["token"]
    assert second["viewer"] is None


async def test_newer_request_kills_older_link(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    older = await reset_token(team.anonymous, mailbox, deliver, "rita@acme.example")
    newer = await reset_token(team.anonymous, mailbox, deliver, "rita@acme.example")

    assert older != newer
    assert payload_codes(await reset(team.anonymous, older)) == ["PASSWORD_RESET_INVALID"]
    assert (await reset(team.anonymous, newer))["errors"] == []


async def test_expired_reset_link_rejected(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    token = await reset_token(team.anonymous, mailbox, deliver, "rita@acme.example")
    await AccountToken.all().update(expires_at=utcnow() - timedelta(seconds=1))

    assert payload_codes(await reset(team.anonymous, token)) == ["PASSWORD_RESET_INVALID"]


async def test_unknown_reset_token_rejected(team: Team) -> None:
    assert payload_codes(await reset(team.anonymous, "not-a-token")) == ["PASSWORD_RESET_INVALID"]


async def test_weak_password_keeps_link_usable(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    token = await reset_token(team.anonymous, mailbox, deliver, "rita@acme.example")

    weak = await reset(team.anonymous, token, "short")

    assert payload_codes(weak) == ["WEAK_PASSWORD"]
    assert weak["errors"][0]["field"] == ["password"]
    assert (await reset(team.anonymous, token))["errors"] == []


async def test_reset_ends_sessions_on_other_clients(
    team: Team, mailbox: Mailbox, deliver: Deliver, new_client: NewClient
) -> None:
    laptop = await signed_in_client(new_client, "rita@acme.example")
    token = await reset_token(team.anonymous, mailbox, deliver, "rita@acme.example")
    phone = new_client()

    await reset(phone, token)

    assert await viewer_of(team.reader) is None
    assert await viewer_of(laptop) is None
    assert (await viewer_of(phone) or {}).get("email") == "rita@acme.example"
    assert await Session.filter(account__email="rita@acme.example").count() == 1
    assert (await viewer_of(team.owner) or {}).get("email") == "olivia@acme.example"


async def test_reset_mails_password_changed_notice(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    token = await reset_token(team.anonymous, mailbox, deliver, "rita@acme.example")
    mailbox.clear()

    await reset(team.anonymous, token)
    await deliver()

    assert subjects_to(mailbox, "rita@acme.example") == ["Your password was changed"]


async def test_reset_without_access_sets_password(
    team: Team, mailbox: Mailbox, deliver: Deliver, new_client: NewClient
) -> None:
    removed = await team.owner.data(
        "mutation($id: ID!) { removeUser(userId: $id) { errors { code } } }", {"id": team.reader_id}
    )
    assert removed["removeUser"]["errors"] == []
    token = await reset_token(team.anonymous, mailbox, deliver, "rita@acme.example")
    browser = new_client()

    result = await reset(browser, token)

    assert result == {"viewer": None, "errors": []}
    assert payload_codes(await new_client().login("rita@acme.example", NEW_PASSWORD)) == ["NO_ACCESS"]


async def test_reset_requests_limited_per_address(team: Team, settings: Settings) -> None:
    for _ in range(settings.account_mail_requests_per_address):
        assert (await request_reset(team.anonymous, "rita@acme.example"))["errors"] == []

    known = await team.anonymous.post(REQUEST_RESET, {"email": "rita@acme.example"})

    assert rate_limited(known)
    assert known["errors"][0]["extensions"]["retryAfter"] > 0


async def test_unknown_address_limited_the_same(team: Team, settings: Settings) -> None:
    for _ in range(settings.account_mail_requests_per_address):
        await request_reset(team.anonymous, "nobody@acme.example")

    unknown = await team.anonymous.post(REQUEST_RESET, {"email": "nobody@acme.example"})

    assert rate_limited(unknown)


async def test_reset_requests_limited_per_client(team: Team, settings: Settings) -> None:
    for number in range(settings.account_mail_requests_per_client):
        assert (await request_reset(team.anonymous, f"person{number}@acme.example"))["errors"] == []

    body = await team.anonymous.post(REQUEST_RESET, {"email": "rita@acme.example"})

    assert rate_limited(body)


# Changing the password while signed in


async def test_change_password_needs_current_one(team: Team) -> None:
    result = await change_password(team.reader, "not my password", NEW_PASSWORD)

    assert payload_codes(result) == ["INVALID_CREDENTIALS"]
    assert result["errors"][0]["field"] == ["currentPassword"]


async def test_change_password_rejects_weak_one(team: Team) -> None:
    result = await change_password(team.reader, PASSWORD, "short")

    assert payload_codes(result) == ["WEAK_PASSWORD"]
    assert result["errors"][0]["field"] == ["newPassword"]


async def test_change_password_ends_other_sessions(team: Team, new_client: NewClient) -> None:
    laptop = await signed_in_client(new_client, "rita@acme.example")

    result = await change_password(team.reader, PASSWORD, NEW_PASSWORD)

    assert result["errors"] == []
    assert await viewer_of(laptop) is None
    assert (await viewer_of(team.reader) or {}).get("email") == "rita@acme.example"
    assert (await new_client().login("rita@acme.example", NEW_PASSWORD))["errors"] == []


async def test_change_password_mails_account(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    await change_password(team.reader, PASSWORD, NEW_PASSWORD)
    await deliver()

    assert subjects_to(mailbox, "rita@acme.example") == ["Your password was changed"]


async def test_change_password_cancels_reset_link(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    token = await reset_token(team.anonymous, mailbox, deliver, "rita@acme.example")

    await change_password(team.reader, PASSWORD, NEW_PASSWORD)

    assert payload_codes(await reset(team.anonymous, token)) == ["PASSWORD_RESET_INVALID"]


# Profile


async def test_new_name_shows_in_users(team: Team) -> None:
    updated = await team.reader.data(UPDATE_PROFILE, {"name": "  Rita Ramirez "})

    assert updated["updateProfile"] == {"viewer": {"name": "Rita Ramirez"}, "errors": []}
    users = await team.owner.data(USERS)
    names = {edge["node"]["email"]: edge["node"]["name"] for edge in users["users"]["edges"]}
    assert names["rita@acme.example"] == "Rita Ramirez"


async def test_activity_keeps_name_written_with(team: Team) -> None:
    await team.owner.data(UPDATE_PROFILE, {"name": "Olivia Ortega"})
    invited = await team.owner.invite("nina@acme.example", "READ_ONLY")
    assert invited["errors"] == []

    events = (await team.owner.data(ACTIVITY))["activity"]["edges"]

    older_names = {edge["node"]["actorName"] for edge in events[1:]}
    assert events[0]["node"]["actorName"] == "Olivia Ortega"
    assert "Olivia Owner" in older_names
    assert "Olivia Ortega" not in older_names


async def test_empty_name_rejected(team: Team) -> None:
    updated = await team.reader.data(UPDATE_PROFILE, {"name": "   "})

    assert payload_codes(updated["updateProfile"]) == ["INVALID_INPUT"]
    assert updated["updateProfile"]["errors"][0]["field"] == ["name"]
    assert (await Account.get(email="rita@acme.example")).name == "Rita Reader"


# Sessions


async def test_sessions_describe_clients(new_client: NewClient, team: Team) -> None:
    laptop = await signed_in_client(new_client, "rita@acme.example", FIREFOX_ON_LINUX)
    await signed_in_client(new_client, "rita@acme.example", CHROME_ON_WINDOWS)

    listed = await session_list(laptop)

    assert len(listed) == 3
    assert [row["client"] for row in listed if row["isCurrent"]] == ["Firefox on Linux"]
    assert {row["client"] for row in listed} == {"Firefox on Linux", "Chrome on Windows", "python-httpx"}


async def test_sessions_hide_timed_out_ones(new_client: NewClient, team: Team, settings: Settings) -> None:
    laptop = await signed_in_client(new_client, "rita@acme.example")
    idle_since = utcnow() - timedelta(seconds=settings.session_idle_timeout_seconds + 1)
    await Session.filter(account__email="rita@acme.example").exclude(id=(await session_ids(laptop))[0]).update(
        last_used_at=idle_since
    )

    listed = await session_list(laptop)

    assert [row["isCurrent"] for row in listed] == [True]


async def test_revoke_session_ends_other_client(new_client: NewClient, team: Team) -> None:
    laptop = await signed_in_client(new_client, "rita@acme.example")
    laptop_id = (await session_ids(laptop))[0]

    revoked = await team.reader.data(REVOKE_SESSION, {"id": str(laptop_id)})

    assert revoked["revokeSession"]["errors"] == []
    assert [row["isCurrent"] for row in revoked["revokeSession"]["sessions"]] == [True]
    assert await viewer_of(laptop) is None
    assert await viewer_of(team.reader) is not None


async def test_revoke_own_session_signs_out(team: Team) -> None:
    own_id = (await session_ids(team.reader))[0]

    revoked = await team.reader.data(REVOKE_SESSION, {"id": str(own_id)})

    assert revoked["revokeSession"] == {"sessions": [], "errors": []}
    assert await viewer_of(team.reader) is None


async def test_revoke_other_accounts_session_not_found(team: Team) -> None:
    owner_session = (await session_ids(team.owner))[0]

    for raw_id in (str(owner_session), "999999", "not-an-id"):
        revoked = await team.reader.data(REVOKE_SESSION, {"id": raw_id})
        assert payload_codes(revoked["revokeSession"]) == ["NOT_FOUND"]
    assert await viewer_of(team.owner) is not None


async def test_sign_out_everywhere_ends_all(new_client: NewClient, team: Team) -> None:
    laptop = await signed_in_client(new_client, "rita@acme.example")

    data = await team.reader.data(SIGN_OUT_EVERYWHERE)

    assert data["signOutEverywhere"] == 2
    assert await viewer_of(laptop) is None
    assert await viewer_of(team.reader) is None
    assert await viewer_of(team.owner) is not None


# Email change: asking


async def test_email_change_mails_both_addresses(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    requested = await request_email_change(team.reader, "rita@new.example")
    await deliver()

    assert requested["errors"] == []
    assert subjects_to(mailbox, "rita@new.example") == ["Confirm your new email address"]
    assert subjects_to(mailbox, "rita@acme.example") == ["A change of your sign-in address was requested"]
    assert "https://console.test/confirm-email-change?token=" in text_of(mailbox.to("rita@new.example")[0])
    assert "token=" not in text_of(mailbox.to("rita@acme.example")[0])


async def test_email_change_needs_password(team: Team) -> None:
    requested = await request_email_change(team.reader, "rita@new.example", "not my password")

    assert payload_codes(requested) == ["INVALID_CREDENTIALS"]
    assert requested["errors"][0]["field"] == ["password"]


async def test_email_change_to_same_address_rejected(team: Team) -> None:
    requested = await request_email_change(team.reader, "Rita@Acme.Example")

    assert payload_codes(requested) == ["INVALID_INPUT"]
    assert requested["errors"][0]["field"] == ["newEmail"]


async def test_email_change_to_account_rejected(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    requested = await request_email_change(team.reader, "adam@acme.example")
    await deliver()

    assert payload_codes(requested) == ["EMAIL_TAKEN"]
    assert requested["errors"][0]["field"] == ["newEmail"]
    assert mailbox.messages == []


async def test_email_change_to_invitee_rejected(team: Team) -> None:
    assert (await team.owner.invite("nina@acme.example", "READ_ONLY"))["errors"] == []

    requested = await request_email_change(team.reader, "nina@acme.example")

    assert payload_codes(requested) == ["EMAIL_TAKEN"]


async def test_email_change_to_revoked_invitee_rejected(team: Team) -> None:
    invited = await team.owner.invite("nina@acme.example", "READ_ONLY")
    removed = await team.owner.data(
        "mutation($id: ID!) { removeUser(userId: $id) { errors { code } } }", {"id": invited["user"]["id"]}
    )
    assert removed["removeUser"]["errors"] == []

    requested = await request_email_change(team.reader, "nina@acme.example")

    assert payload_codes(requested) == ["EMAIL_TAKEN"]


async def test_email_change_requests_limited_per_address(team: Team, settings: Settings) -> None:
    for _ in range(settings.account_mail_requests_per_address):
        assert (await request_email_change(team.reader, "rita@new.example"))["errors"] == []

    body = await team.reader.post(REQUEST_EMAIL_CHANGE, {"newEmail": "rita@new.example", "password": PASSWORD})

    assert rate_limited(body)


# Email change: confirming


async def test_confirm_switches_every_membership(
    team: Team, mailbox: Mailbox, deliver: Deliver, settings: Settings, new_client: NewClient
) -> None:
    beta, beta_invitation = await create_organization(settings, "Beta", "rita@acme.example")
    accepted = await new_client().accept(beta_invitation.token, None, PASSWORD)
    assert accepted["errors"] == []
    token = await email_change_token(team.reader, mailbox, deliver, "rita@new.example")

    confirmed = await confirm(team.anonymous, token)

    assert confirmed == {"email": "rita@new.example", "errors": []}
    rita = await Account.get(email="rita@new.example")
    emails = await Membership.filter(account_id=rita.id).values_list("email", flat=True)
    assert sorted(emails) == ["rita@new.example", "rita@new.example"]
    users = await team.owner.data(USERS)
    assert "rita@new.example" in {edge["node"]["email"] for edge in users["users"]["edges"]}


async def test_old_address_stops_signing_in(team: Team, mailbox: Mailbox, deliver: Deliver, new_client: NewClient) -> None:
    token = await email_change_token(team.reader, mailbox, deliver, "rita@new.example")

    await confirm(team.anonymous, token)

    assert payload_codes(await new_client().login("rita@acme.example")) == ["INVALID_CREDENTIALS"]
    assert (await new_client().login("rita@new.example"))["errors"] == []
    assert (await viewer_of(team.reader) or {}).get("email") == "rita@new.example"


async def test_confirm_link_works_once(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    token = await email_change_token(team.reader, mailbox, deliver, "rita@new.example")

    first = await confirm(team.anonymous, token)
    second = await confirm(team.anonymous, token)

    assert first["errors"] == []
    assert payload_codes(second) == ["EMAIL_CHANGE_INVALID"]
    assert second["errors"][0]["field"] == ["token"]


async def test_newer_email_request_kills_older(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    older = await email_change_token(team.reader, mailbox, deliver, "rita@new.example")
    newer = await email_change_token(team.reader, mailbox, deliver, "rita@other.example")

    assert payload_codes(await confirm(team.anonymous, older)) == ["EMAIL_CHANGE_INVALID"]
    assert (await confirm(team.anonymous, newer))["email"] == "rita@other.example"


async def test_expired_email_link_rejected(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    token = await email_change_token(team.reader, mailbox, deliver, "rita@new.example")
    await AccountToken.all().update(expires_at=utcnow() - timedelta(seconds=1))

    assert payload_codes(await confirm(team.anonymous, token)) == ["EMAIL_CHANGE_INVALID"]
    assert await Account.exists(email="rita@acme.example")


async def test_password_change_cancels_email_change(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    token = await email_change_token(team.reader, mailbox, deliver, "rita@new.example")

    await change_password(team.reader, PASSWORD, NEW_PASSWORD)

    assert payload_codes(await confirm(team.anonymous, token)) == ["EMAIL_CHANGE_INVALID"]


async def test_email_change_cancels_reset_link(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    reset_link = await reset_token(team.anonymous, mailbox, deliver, "rita@acme.example")
    token = await email_change_token(team.reader, mailbox, deliver, "rita@new.example")

    await confirm(team.anonymous, token)

    assert payload_codes(await reset(team.anonymous, reset_link)) == ["PASSWORD_RESET_INVALID"]


async def test_invitation_after_request_blocks_confirm(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    token = await email_change_token(team.reader, mailbox, deliver, "nina@acme.example")
    assert (await team.owner.invite("nina@acme.example", "READ_ONLY"))["errors"] == []

    confirmed = await confirm(team.anonymous, token)

    assert payload_codes(confirmed) == ["EMAIL_TAKEN"]
    assert await Account.exists(email="rita@acme.example")
    assert await Membership.filter(email="nina@acme.example").count() == 1


async def test_account_after_request_blocks_confirm(
    team: Team, mailbox: Mailbox, deliver: Deliver, settings: Settings, new_client: NewClient
) -> None:
    token = await email_change_token(team.reader, mailbox, deliver, "nina@beta.example")
    _, invitation = await create_organization(settings, "Beta", "nina@beta.example")
    assert (await new_client().accept(invitation.token, "Nina", PASSWORD))["errors"] == []

    confirmed = await confirm(team.anonymous, token)

    assert payload_codes(confirmed) == ["EMAIL_TAKEN"]
    assert await Account.filter(email="nina@beta.example").count() == 1


async def test_invite_after_confirm_finds_member(team: Team, mailbox: Mailbox, deliver: Deliver) -> None:
    token = await email_change_token(team.reader, mailbox, deliver, "rita@new.example")
    await confirm(team.anonymous, token)

    invited = await team.owner.invite("rita@new.example", "READ_ONLY")

    assert payload_codes(invited) == ["ALREADY_MEMBER"]


# Who may call what


PERSON_ONLY_FIELDS = {
    "sessions": (SESSIONS, {}),
    "changePassword": (CHANGE_PASSWORD, {"current": PASSWORD, "new": NEW_PASSWORD}),
    "updateProfile": (UPDATE_PROFILE, {"name": "Someone"}),
    "revokeSession": (REVOKE_SESSION, {"id": "1"}),
    "signOutEverywhere": (SIGN_OUT_EVERYWHERE, {}),
    "requestEmailChange": (REQUEST_EMAIL_CHANGE, {"newEmail": "someone@new.example", "password": PASSWORD}),
}


@pytest.mark.parametrize("field", list(PERSON_ONLY_FIELDS))
async def test_session_needed_for_field(field: str, team: Team) -> None:
    document, variables = PERSON_ONLY_FIELDS[field]

    body = await team.anonymous.post(document, variables)

    assert top_level_codes(body) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("field", list(PERSON_ONLY_FIELDS))
async def test_api_token_refused_for_field(field: str, team: Team, new_client: NewClient) -> None:
    created = await team.owner.data(
        "mutation { createApiToken(input: {name: \"HR sync\", role: ADMIN}) { secret errors { code } } }"
    )
    integration = new_client()
    integration.http.headers["Authorization"] = f"Bearer {created['createApiToken']['secret']}"
    document, variables = PERSON_ONLY_FIELDS[field]

    body = await integration.post(document, variables)

    assert top_level_codes(body) == ["FORBIDDEN"]
    assert await Session.filter(account__email="olivia@acme.example").count() == 1


# Races. On PostgreSQL the requests of a round run in parallel transactions. On SQLite, Tortoise
# runs transactions one at a time, so these tests check the outcomes without real overlap.


@pytest_asyncio.fixture
async def roomy_client(db: None, settings: Settings) -> AsyncIterator[NewClient]:
    """Clients of an app whose mail limits allow every round of a race from one client address."""
    roomy = settings.model_copy(update={"account_mail_requests_per_client": 10_000})
    app = create_app(roomy, manage_database=False, deliver_mail=False)
    opened: list[httpx.AsyncClient] = []

    def make() -> GraphQLClient:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://console.test")
        opened.append(http)
        return GraphQLClient(http)

    yield make
    for http in opened:
        await http.aclose()


async def after_yields(count: int, call: Awaitable[T]) -> T:
    """Await `call` after `count` turns of the event loop.

    Rounds of a race start the second request a growing number of turns late, so that over the
    rounds it lands before, inside and after the first one's transaction.
    """
    for _ in range(count):
        await asyncio.sleep(0)
    return await call


def outcome(payload: dict[str, Any]) -> str:
    return payload["errors"][0]["code"] if payload["errors"] else "ok"


async def assert_one_identity_per_address(address: str, organization_id: int) -> None:
    assert await Account.filter(email=address).count() <= 1
    assert await Membership.filter(organization_id=organization_id, email=address).count() <= 1
    rows = await Membership.filter(email=address).exclude(account_id=None).values_list("account_id", flat=True)
    assert len(set(rows)) <= 1


async def assert_memberships_carry_account_address() -> None:
    for account in await Account.all():
        emails = await Membership.filter(account_id=account.id).values_list("email", flat=True)
        assert set(emails) <= {account.email}, (account.email, emails)


async def test_email_change_racing_invitation(
    team: Team, roomy_client: NewClient, mailbox: Mailbox, deliver: Deliver
) -> None:
    owner = roomy_client()
    assert (await owner.login("olivia@acme.example"))["errors"] == []
    reader = roomy_client()
    assert (await reader.login("rita@acme.example"))["errors"] == []
    codes_seen: set[tuple[str, str]] = set()

    for number in range(RACE_ROUNDS):
        address = f"contested{number}@acme.example"
        token = await email_change_token(reader, mailbox, deliver, address)

        invited, confirmed = await asyncio.gather(
            owner.data(INVITE, {"email": address}),
            after_yields(number % 8 * 25, roomy_client().data(CONFIRM_EMAIL_CHANGE, {"token": token})),
        )

        codes = (outcome(confirmed["confirmEmailChange"]), outcome(invited["inviteUser"]))
        assert codes in {("ok", "ALREADY_MEMBER"), ("EMAIL_TAKEN", "ok")}, codes
        codes_seen.add(codes)
        await assert_one_identity_per_address(address, int(team.organization_id))
        await assert_memberships_carry_account_address()
    print(f"email change against invitation, outcomes seen: {sorted(codes_seen)}")


async def test_email_change_racing_acceptance(
    team: Team, roomy_client: NewClient, mailbox: Mailbox, deliver: Deliver, settings: Settings
) -> None:
    """An invitation to the old address, accepted while the address changes, must not keep it."""
    reader = roomy_client()
    assert (await reader.login("rita@acme.example"))["errors"] == []
    codes_seen: set[tuple[str, str]] = set()

    for number in range(RACE_ROUNDS):
        current = (await viewer_of(reader) or {})["email"]
        organization, _ = await create_organization(settings, f"Race {uuid.uuid4().hex[:8]}", f"owner{number}@race.example")
        async with in_transaction() as connection:
            issued = await invite_into(
                connection, settings, organization,
                email=current, role=Role.READ_ONLY, author=activity.SYSTEM, inviter_name=None,
            )
        token = await email_change_token(reader, mailbox, deliver, f"moved{number}@acme.example")

        accepted, confirmed = await asyncio.gather(
            roomy_client().accept(issued.token, None, PASSWORD),
            after_yields(number * 60, roomy_client().data(CONFIRM_EMAIL_CHANGE, {"token": token})),
        )

        codes = (outcome(confirmed["confirmEmailChange"]), outcome(accepted))
        assert codes in {("ok", "ok"), ("ok", "INVALID_CREDENTIALS"), ("ok", "INVALID_INPUT")}, codes
        codes_seen.add(codes)
        await assert_memberships_carry_account_address()
    print(f"email change against acceptance, outcomes seen: {sorted(codes_seen)}")


# Mail templates and client descriptions


# Every context value each account mail kind uses, with a name that needs escaping in HTML.
ACCOUNT_MAIL_CONTEXTS: dict[str, dict[str, Any]] = {
    "password_reset": {
        "name": "<b>Rita</b>",
        "email": "rita@acme.example",
        "link": "https://console.test/reset-password?token=abc",
        "expires_at": "2030-01-01 12:00 UTC",
    },
    "password_changed": {
        "name": "<b>Rita</b>",
        "email": "rita@acme.example",
        "by_reset": True,
        "changed_at": "2030-01-01 12:00 UTC",
        "console_url": "https://console.test",
    },
    "email_change_confirm": {
        "name": "<b>Rita</b>",
        "old_email": "rita@acme.example",
        "new_email": "rita@new.example",
        "link": "https://console.test/confirm-email-change?token=abc",
        "expires_at": "2030-01-01 12:00 UTC",
    },
    "email_change_notice": {"name": "<b>Rita</b>", "old_email": "rita@acme.example", "new_email": "rita@new.example"},
}


@pytest.mark.parametrize("kind", list(ACCOUNT_MAIL_CONTEXTS))
def test_account_mail_escapes_html(kind: str) -> None:
    rendered = render_message(kind, ACCOUNT_MAIL_CONTEXTS[kind])

    assert "<b>Rita</b>" in rendered.text
    assert "&lt;b&gt;Rita&lt;/b&gt;" in rendered.html
    assert rendered.html.rstrip().endswith("</html>")


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (FIREFOX_ON_LINUX, "Firefox on Linux"),
        (CHROME_ON_WINDOWS, "Chrome on Windows"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iOS"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Edge on macOS"),
        ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
        ("curl/8.5.0", "curl"),
        ("", "Unknown client"),
    ],
)
def test_client_description_from_user_agent(user_agent: str, expected: str) -> None:
    assert describe_client(user_agent) == expected
