"""Invitations over HTTP: inviting, the mail, previewing, resending, revoking and accepting."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from console_users.clock import utcnow
from console_users.settings import Settings
from models import Account, Membership, MembershipStatus, OutboxMessage
from resolvers.organizations import create_organization
from tests.conftest import Team
from tests.support import PASSWORD, REMOVE, RESEND, GraphQLClient, Mailbox, html_of, payload_codes, text_of

INVITE = """
mutation($input: InviteUserInput!) {
  inviteUser(input: $input) {
    user {
      id email role status invitedAt invitationExpiresAt invitationEmail
      invitedBy { id email name }
    }
    errors { code message field }
  }
}"""

USER = """
query($id: ID!) {
  user(id: $id) {
    id email name role status invitedAt invitationExpiresAt invitationEmail joinedAt removedAt
  }
}"""

ALL_USERS_COUNT = "{ users(filter: {status: [ACTIVE, INVITED, INVITATION_EXPIRED, REMOVED]}) { totalCount } }"

PREVIEW = """
query($token: String!) {
  invitation(token: $token) {
    organizationName email role invitedByName expiresAt state accountExists
  }
}"""

ACTIVITY = "{ activity(first: 100) { edges { node { action actorName subject { id } } } } }"

VIEWER = "{ viewer { email name user { id role status } organization { name } } }"

DEFAULT_INVITATION_TTL = timedelta(seconds=604800)
CONSOLE_LINK = re.compile(r"https://console\.test/accept-invitation\?token=([A-Za-z0-9_\-]+)")
UNKNOWN_TOKEN = "x" * 43
NEW_ADDRESS = "nina@acme.example"


async def invite(inviter: GraphQLClient, address: str, role: str = "READ_ONLY") -> dict[str, Any]:
    data = await inviter.data(INVITE, {"input": {"email": address, "role": role}})
    return data["inviteUser"]


async def invite_and_mail(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]], address: str, role: str = "READ_ONLY"
) -> tuple[str, str]:
    """Invite `address` as the owner, deliver the mail, and return the user id and the token of the link."""
    payload = await invite(team.owner, address, role)
    assert payload["errors"] == [], payload
    await deliver()
    return payload["user"]["id"], mailbox.invitation_token(address)


async def fetch_user(client: GraphQLClient, user_id: str) -> dict[str, Any]:
    data = await client.data(USER, {"id": user_id})
    assert data["user"] is not None, f"user {user_id} not found"
    return data["user"]


async def preview(client: GraphQLClient, token: str) -> dict[str, Any] | None:
    data = await client.data(PREVIEW, {"token": token})
    return data["invitation"]


async def actions_about(client: GraphQLClient, user_id: str) -> list[str]:
    """Return the activity actions whose subject is `user_id`, newest first."""
    data = await client.data(ACTIVITY)
    nodes = [edge["node"] for edge in data["activity"]["edges"]]
    return [node["action"] for node in nodes if node["subject"] is not None and node["subject"]["id"] == user_id]


async def count_all_users(client: GraphQLClient) -> int:
    data = await client.data(ALL_USERS_COUNT)
    return data["users"]["totalCount"]


async def expire_invitation(user_id: str) -> None:
    await Membership.filter(id=int(user_id)).update(invitation_expires_at=utcnow() - timedelta(minutes=1))


async def add_member_of_other_organization(settings: Settings, new_client: Callable[[], GraphQLClient]) -> str:
    """Create the organization Globex, whose owner Gina Globex has an account, and return her address."""
    _, invitation = await create_organization(settings, "Globex", "gina@globex.example")
    accepted = await new_client().accept(invitation.token, "Gina Globex", PASSWORD)
    assert accepted["errors"] == [], accepted
    return "gina@globex.example"


def parse_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value)


# Inviting


async def test_invite_creates_invited_user(team: Team) -> None:
    payload = await invite(team.owner, NEW_ADDRESS, "ADMIN")

    assert payload["errors"] == []
    user = payload["user"]
    assert user["email"] == NEW_ADDRESS
    assert user["role"] == "ADMIN"
    assert user["status"] == "INVITED"
    assert user["invitationEmail"] == "QUEUED"
    assert user["invitedBy"]["id"] == team.owner_id
    assert user["invitedBy"]["name"] == "Olivia Owner"
    assert parse_datetime(user["invitationExpiresAt"]) - parse_datetime(user["invitedAt"]) == DEFAULT_INVITATION_TTL


async def test_invitation_email_sent_after_delivery(team: Team, deliver: Callable[[], Awaitable[int]]) -> None:
    payload = await invite(team.owner, NEW_ADDRESS)
    user_id = payload["user"]["id"]

    await deliver()

    user = await fetch_user(team.owner, user_id)
    assert user["invitationEmail"] == "SENT"


async def test_invitation_mail_reaches_address(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    await invite(team.owner, NEW_ADDRESS)
    await deliver()

    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == NEW_ADDRESS
    assert mailbox.envelopes[0].rcpt_tos == [NEW_ADDRESS]
    assert message["Message-ID"]
    assert message.get_body(("plain",)) is not None
    assert message.get_body(("html",)) is not None


async def test_mail_names_organization_and_inviter(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    await invite(team.owner, NEW_ADDRESS)
    await deliver()

    message = mailbox.messages[0]
    assert "Acme" in text_of(message)
    assert "Acme" in html_of(message)
    assert "Olivia Owner" in text_of(message)
    assert "Olivia Owner" in html_of(message)


async def test_invitation_mail_links_to_console(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    await invite(team.owner, NEW_ADDRESS)
    await deliver()

    message = mailbox.messages[0]
    text_link = CONSOLE_LINK.search(text_of(message))
    html_link = CONSOLE_LINK.search(html_of(message))
    assert text_link is not None
    assert html_link is not None
    assert text_link.group(1) == html_link.group(1)


async def test_invitation_token_is_unguessable(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    user_id, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)

    # 22 url-safe base64 characters carry 132 bits.
    assert len(token) >= 22
    stored = await Membership.get(id=int(user_id))
    assert stored.invitation_token_hash is not None
    assert stored.invitation_token_hash != token
    assert token not in stored.invitation_token_hash


async def test_invited_email_stored_lower_case(team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]) -> None:
    payload = await invite(team.owner, "Bea@Acme.Example")
    await deliver()

    assert payload["errors"] == []
    assert payload["user"]["email"] == "bea@acme.example"
    stored = await Membership.get(id=int(payload["user"]["id"]))
    assert stored.email == "bea@acme.example"
    assert mailbox.messages[0]["To"] == "bea@acme.example"


async def test_reinvite_other_case_already_invited(team: Team) -> None:
    await invite(team.owner, "Bea@Acme.Example")
    users_before = await count_all_users(team.owner)

    payload = await invite(team.owner, "BEA@acme.EXAMPLE")

    assert payload["user"] is None
    assert payload_codes(payload) == ["ALREADY_INVITED"]
    assert payload["errors"][0]["field"] == ["input", "email"]
    assert await count_all_users(team.owner) == users_before


async def test_invite_active_member_already_member(team: Team, deliver: Callable[[], Awaitable[int]]) -> None:
    payload = await invite(team.owner, "ADAM@acme.example")

    assert payload["user"] is None
    assert payload_codes(payload) == ["ALREADY_MEMBER"]
    assert payload["errors"][0]["field"] == ["input", "email"]
    assert await deliver() == 0


@pytest.mark.parametrize(
    "address",
    ["nina.acme.example", "nina @acme.example", "nina@acme example", "nina\n@acme.example", "nina@acme.\nexample", "", "   "],
    ids=["no-at", "space-in-local-part", "space-in-domain", "line-break-in-local-part", "line-break-in-domain", "empty", "blank"],
)
async def test_invalid_email_creates_nothing(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]], address: str
) -> None:
    users_before = await count_all_users(team.owner)

    payload = await invite(team.owner, address)

    assert payload["user"] is None
    assert payload_codes(payload) == ["INVALID_INPUT"]
    assert payload["errors"][0]["field"] == ["input", "email"]
    assert await count_all_users(team.owner) == users_before
    assert await OutboxMessage.filter(to_address__contains="nina").count() == 0
    assert await deliver() == 0
    assert mailbox.messages == []


async def test_expired_invitation_reinvited_same_row(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    user_id, old_token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS, "READ_ONLY")
    await expire_invitation(user_id)
    assert (await fetch_user(team.owner, user_id))["status"] == "INVITATION_EXPIRED"

    payload = await invite(team.owner, NEW_ADDRESS, "ADMIN")

    assert payload["errors"] == []
    user = payload["user"]
    assert user["id"] == user_id
    assert user["role"] == "ADMIN"
    assert user["status"] == "INVITED"
    assert parse_datetime(user["invitationExpiresAt"]) > utcnow()
    await deliver()
    assert mailbox.invitation_token(NEW_ADDRESS) != old_token
    rejected = await team.anonymous.accept(old_token, "Nina New")
    assert payload_codes(rejected) == ["INVITATION_INVALID"]


async def test_removed_user_reinvited_same_row(team: Team) -> None:
    removed = await team.owner.data(REMOVE, {"id": team.reader_id})
    assert removed["removeUser"]["errors"] == []

    payload = await invite(team.owner, "rita@acme.example", "ADMIN")

    assert payload["errors"] == []
    user = payload["user"]
    assert user["id"] == team.reader_id
    assert user["role"] == "ADMIN"
    assert user["status"] == "INVITED"
    assert (await fetch_user(team.owner, team.reader_id))["removedAt"] is None


# Previewing


async def test_preview_shows_pending_invitation(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    user_id, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS, "ADMIN")
    user = await fetch_user(team.owner, user_id)

    invitation = await preview(team.anonymous, token)

    assert invitation is not None
    assert invitation["organizationName"] == "Acme"
    assert invitation["email"] == NEW_ADDRESS
    assert invitation["role"] == "ADMIN"
    assert invitation["invitedByName"] == "Olivia Owner"
    assert parse_datetime(invitation["expiresAt"]) == parse_datetime(user["invitationExpiresAt"])
    assert invitation["state"] == "PENDING"
    assert invitation["accountExists"] is False


async def test_preview_account_exists_elsewhere(
    team: Team, settings: Settings, new_client: Callable[[], GraphQLClient], mailbox: Mailbox,
    deliver: Callable[[], Awaitable[int]],
) -> None:
    address = await add_member_of_other_organization(settings, new_client)
    _, token = await invite_and_mail(team, mailbox, deliver, address)

    invitation = await preview(team.anonymous, token)

    assert invitation is not None
    assert invitation["accountExists"] is True


async def test_preview_account_exists_removed_member(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    await team.owner.data(REMOVE, {"id": team.reader_id})
    _, token = await invite_and_mail(team, mailbox, deliver, "rita@acme.example")

    invitation = await preview(team.anonymous, token)

    assert invitation is not None
    assert invitation["accountExists"] is True


async def test_preview_expired_invitation_state(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    user_id, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)
    await expire_invitation(user_id)

    invitation = await preview(team.anonymous, token)

    assert invitation is not None
    assert invitation["state"] == "EXPIRED"


async def test_preview_null_unknown_token(team: Team) -> None:
    assert await preview(team.anonymous, UNKNOWN_TOKEN) is None


async def test_preview_null_used_token(team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]) -> None:
    _, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)
    accepted = await team.anonymous.accept(token, "Nina New")
    assert accepted["errors"] == []

    assert await preview(team.anonymous, token) is None


async def test_preview_null_revoked_token(team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]) -> None:
    user_id, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)
    revoked = await team.owner.data(REMOVE, {"id": user_id})
    assert revoked["removeUser"]["errors"] == []

    assert await preview(team.anonymous, token) is None


async def test_preview_null_replaced_token(team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]) -> None:
    user_id, old_token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)
    resent = await team.owner.data(RESEND, {"id": user_id})
    assert resent["resendInvitation"]["errors"] == []

    assert await preview(team.anonymous, old_token) is None


async def test_preview_consumes_nothing(team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]) -> None:
    _, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)
    assert await preview(team.anonymous, token) is not None
    assert await preview(team.anonymous, token) is not None

    accepted = await team.anonymous.accept(token, "Nina New")

    assert accepted["errors"] == []
    assert accepted["viewer"]["email"] == NEW_ADDRESS


# Resending


async def test_resend_mails_new_link(team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]) -> None:
    user_id, old_token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)

    resent = await team.owner.data(RESEND, {"id": user_id})
    await deliver()

    assert resent["resendInvitation"]["errors"] == []
    assert len(mailbox.to(NEW_ADDRESS)) == 2
    new_token = mailbox.invitation_token(NEW_ADDRESS)
    assert new_token != old_token
    invitation = await preview(team.anonymous, new_token)
    assert invitation is not None
    assert invitation["state"] == "PENDING"


async def test_resend_kills_old_link(team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]) -> None:
    user_id, old_token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)
    await team.owner.data(RESEND, {"id": user_id})

    rejected = await team.anonymous.accept(old_token, "Nina New")

    assert rejected["viewer"] is None
    assert payload_codes(rejected) == ["INVITATION_INVALID"]
    assert rejected["errors"][0]["field"] == ["input", "token"]


async def test_resend_restarts_expired_invitation(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    user_id, _ = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)
    await expire_invitation(user_id)
    expired = await fetch_user(team.owner, user_id)
    assert expired["status"] == "INVITATION_EXPIRED"

    resent = await team.owner.data(RESEND, {"id": user_id})

    payload = resent["resendInvitation"]
    assert payload["errors"] == []
    assert payload["user"]["status"] == "INVITED"
    assert parse_datetime(payload["user"]["invitationExpiresAt"]) > parse_datetime(expired["invitationExpiresAt"])
    assert parse_datetime(payload["user"]["invitationExpiresAt"]) > utcnow() + DEFAULT_INVITATION_TTL - timedelta(minutes=5)
    await deliver()
    accepted = await team.anonymous.accept(mailbox.invitation_token(NEW_ADDRESS), "Nina New")
    assert accepted["errors"] == []


async def test_resend_records_activity_event(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    user_id, _ = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)

    await team.owner.data(RESEND, {"id": user_id})

    assert await actions_about(team.owner, user_id) == ["INVITATION_RESENT", "USER_INVITED"]


async def test_resend_active_user_not_invited(team: Team, deliver: Callable[[], Awaitable[int]]) -> None:
    resent = await team.owner.data(RESEND, {"id": team.reader_id})

    payload = resent["resendInvitation"]
    assert payload["user"] is None
    assert payload_codes(payload) == ["NOT_INVITED"]
    assert payload["errors"][0]["field"] == ["userId"]
    assert await deliver() == 0


# Revoking


async def test_revoke_marks_invitation_removed(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    user_id, _ = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)

    revoked = await team.owner.data(REMOVE, {"id": user_id})

    assert revoked["removeUser"]["errors"] == []
    assert revoked["removeUser"]["user"]["status"] == "REMOVED"
    assert (await fetch_user(team.owner, user_id))["status"] == "REMOVED"


async def test_revoked_link_is_invalid(team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]) -> None:
    user_id, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)
    await team.owner.data(REMOVE, {"id": user_id})

    rejected = await team.anonymous.accept(token, "Nina New")

    assert rejected["viewer"] is None
    assert payload_codes(rejected) == ["INVITATION_INVALID"]
    assert not await Account.filter(email=NEW_ADDRESS).exists()


async def test_revoke_records_activity_event(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    user_id, _ = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)

    await team.owner.data(REMOVE, {"id": user_id})

    assert await actions_about(team.owner, user_id) == ["INVITATION_REVOKED", "USER_INVITED"]


# Accepting with a new address


async def assert_still_invited(team: Team, client: GraphQLClient, settings: Settings, user_id: str, address: str) -> None:
    """Check that a rejected accept created no account, opened no session and left the user INVITED."""
    assert not await Account.filter(email=address).exists()
    assert client.http.cookies.get(settings.session_cookie_name) is None
    user = await fetch_user(team.owner, user_id)
    assert user["status"] == "INVITED"
    assert user["joinedAt"] is None


@pytest.mark.parametrize("name", [None, "", "   "], ids=["missing", "empty", "blank"])
async def test_accept_requires_name(
    team: Team, settings: Settings, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]], name: str | None
) -> None:
    user_id, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)

    rejected = await team.anonymous.accept(token, name)

    assert rejected["viewer"] is None
    assert payload_codes(rejected) == ["INVALID_INPUT"]
    assert rejected["errors"][0]["field"] == ["input", "name"]
    await assert_still_invited(team, team.anonymous, settings, user_id, NEW_ADDRESS)


async def test_accept_short_password_is_weak(
    team: Team, settings: Settings, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    user_id, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)

    rejected = await team.anonymous.accept(token, "Nina New", "elevenchars")

    assert rejected["viewer"] is None
    assert payload_codes(rejected) == ["WEAK_PASSWORD"]
    assert rejected["errors"][0]["field"] == ["input", "password"]
    assert "12" in rejected["errors"][0]["message"]
    await assert_still_invited(team, team.anonymous, settings, user_id, NEW_ADDRESS)


async def test_accept_twelve_character_password(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    _, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)

    accepted = await team.anonymous.accept(token, "Nina New", "twelve-chars")

    assert accepted["errors"] == []


async def test_accept_returns_viewer(team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]) -> None:
    user_id, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS, "ADMIN")

    accepted = await team.anonymous.accept(token, "  Nina New  ")

    assert accepted["errors"] == []
    viewer = accepted["viewer"]
    assert viewer["email"] == NEW_ADDRESS
    assert viewer["name"] == "Nina New"
    assert viewer["user"]["id"] == user_id
    assert viewer["user"]["role"] == "ADMIN"
    assert viewer["user"]["status"] == "ACTIVE"
    assert viewer["organization"]["name"] == "Acme"


async def test_accept_sets_session_cookie(
    team: Team, settings: Settings, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    user_id, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)

    await team.anonymous.accept(token, "Nina New")

    assert team.anonymous.http.cookies.get(settings.session_cookie_name)
    data = await team.anonymous.data(VIEWER)
    assert data["viewer"] is not None
    assert data["viewer"]["user"]["id"] == user_id


async def test_accept_activates_user(team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]) -> None:
    user_id, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)

    await team.anonymous.accept(token, "Nina New")

    user = await fetch_user(team.owner, user_id)
    assert user["status"] == "ACTIVE"
    assert user["name"] == "Nina New"
    assert user["joinedAt"] is not None
    assert user["invitationExpiresAt"] is None
    assert user["invitationEmail"] is None


async def test_accept_records_activity_event(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    user_id, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)

    await team.anonymous.accept(token, "Nina New")

    assert await actions_about(team.owner, user_id) == ["INVITATION_ACCEPTED", "USER_INVITED"]


async def test_new_member_can_log_in(
    team: Team, new_client: Callable[[], GraphQLClient], mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    user_id, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)
    await team.anonymous.accept(token, "Nina New", "nina's own passphrase")

    signed_in = await new_client().login("NINA@acme.example", "nina's own passphrase")

    assert signed_in["errors"] == []
    assert signed_in["viewer"]["user"]["id"] == user_id


# Accepting with an address that already has an account


async def test_existing_account_needs_its_password(
    team: Team, settings: Settings, new_client: Callable[[], GraphQLClient], mailbox: Mailbox,
    deliver: Callable[[], Awaitable[int]],
) -> None:
    address = await add_member_of_other_organization(settings, new_client)
    user_id, token = await invite_and_mail(team, mailbox, deliver, address)

    rejected = await team.anonymous.accept(token, "Gina Globex", "not the right password")

    assert rejected["viewer"] is None
    assert payload_codes(rejected) == ["INVALID_CREDENTIALS"]
    assert team.anonymous.http.cookies.get(settings.session_cookie_name) is None
    assert (await fetch_user(team.owner, user_id))["status"] == "INVITED"
    accepted = await team.anonymous.accept(token, "Gina Globex", PASSWORD)
    assert accepted["errors"] == []


async def test_existing_account_keeps_name_and_password(
    team: Team, settings: Settings, new_client: Callable[[], GraphQLClient], mailbox: Mailbox,
    deliver: Callable[[], Awaitable[int]],
) -> None:
    address = await add_member_of_other_organization(settings, new_client)
    account_before = await Account.get(email=address)
    user_id, token = await invite_and_mail(team, mailbox, deliver, address)

    accepted = await team.anonymous.accept(token, "Somebody Else", PASSWORD)

    assert accepted["errors"] == []
    assert accepted["viewer"]["name"] == "Gina Globex"
    assert accepted["viewer"]["user"]["id"] == user_id
    account_after = await Account.get(email=address)
    assert account_after.id == account_before.id
    assert account_after.name == "Gina Globex"
    assert account_after.password_hash == account_before.password_hash
    assert await Account.filter(email=address).count() == 1
    signed_in = await new_client().login(address, PASSWORD)
    assert signed_in["errors"] == []


async def test_existing_account_needs_no_name(
    team: Team, settings: Settings, new_client: Callable[[], GraphQLClient], mailbox: Mailbox,
    deliver: Callable[[], Awaitable[int]],
) -> None:
    address = await add_member_of_other_organization(settings, new_client)
    _, token = await invite_and_mail(team, mailbox, deliver, address)

    accepted = await team.anonymous.accept(token, None, PASSWORD)

    assert accepted["errors"] == []
    assert accepted["viewer"]["name"] == "Gina Globex"


async def test_removed_member_rejoins_with_password(
    team: Team, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    await team.owner.data(REMOVE, {"id": team.reader_id})
    _, token = await invite_and_mail(team, mailbox, deliver, "rita@acme.example", "ADMIN")

    accepted = await team.anonymous.accept(token, None, PASSWORD)

    assert accepted["errors"] == []
    assert accepted["viewer"]["name"] == "Rita Reader"
    assert accepted["viewer"]["user"]["id"] == team.reader_id
    assert accepted["viewer"]["user"]["role"] == "ADMIN"
    assert accepted["viewer"]["user"]["status"] == "ACTIVE"
    assert await Account.filter(email="rita@acme.example").count() == 1


# Rejected accepts


async def test_expired_invitation_cannot_be_accepted(
    team: Team, settings: Settings, mailbox: Mailbox, deliver: Callable[[], Awaitable[int]]
) -> None:
    user_id, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)
    await expire_invitation(user_id)

    rejected = await team.anonymous.accept(token, "Nina New")

    assert rejected["viewer"] is None
    assert payload_codes(rejected) == ["INVITATION_EXPIRED"]
    assert not await Account.filter(email=NEW_ADDRESS).exists()
    assert team.anonymous.http.cookies.get(settings.session_cookie_name) is None
    stored = await Membership.get(id=int(user_id))
    assert stored.status is MembershipStatus.INVITED
    assert stored.joined_at is None
    assert (await fetch_user(team.owner, user_id))["status"] == "INVITATION_EXPIRED"


async def test_used_token_is_invalid(
    team: Team, settings: Settings, new_client: Callable[[], GraphQLClient], mailbox: Mailbox,
    deliver: Callable[[], Awaitable[int]],
) -> None:
    _, token = await invite_and_mail(team, mailbox, deliver, NEW_ADDRESS)
    accepted = await team.anonymous.accept(token, "Nina New")
    assert accepted["errors"] == []
    second_browser = new_client()

    rejected = await second_browser.accept(token, "Someone Else", "another long passphrase")

    assert rejected["viewer"] is None
    assert payload_codes(rejected) == ["INVITATION_INVALID"]
    assert second_browser.http.cookies.get(settings.session_cookie_name) is None
    assert await Account.filter(email=NEW_ADDRESS).count() == 1
    assert (await Account.get(email=NEW_ADDRESS)).name == "Nina New"


async def test_unknown_token_is_invalid(team: Team, settings: Settings) -> None:
    accounts_before = await Account.all().count()

    rejected = await team.anonymous.accept(UNKNOWN_TOKEN, "Nina New")

    assert rejected["viewer"] is None
    assert payload_codes(rejected) == ["INVITATION_INVALID"]
    assert rejected["errors"][0]["field"] == ["input", "token"]
    assert team.anonymous.http.cookies.get(settings.session_cookie_name) is None
    assert await Account.all().count() == accounts_before
