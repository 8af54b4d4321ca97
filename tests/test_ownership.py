"""Ownership transfers by the owner (with their password) and by support, and mail to the current owner."""

from __future__ import annotations

from typing import Any

import pytest

from console_users.settings import Settings
from resolvers.errors import ErrorCode, UserFacingError
from resolvers.organizations import create_organization, notify_owner
from resolvers.ownership import transfer_by_support
from tests.conftest import Team
from tests.support import PASSWORD, TRANSFER, GraphQLClient, Mailbox, payload_codes, text_of, top_level_codes

ORGANIZATION = "{ organization { id name owner { id email isOwner } } }"

USERS = "{ users { edges { node { id email role status isOwner } } } }"

ACTIVITY = """
query {
  activity(first: 100) {
    edges { node { action actor { id } actorName subject { id } description } }
  }
}"""


async def owner_email(client: GraphQLClient) -> str:
    data = await client.data(ORGANIZATION)
    return data["organization"]["owner"]["email"]  # type: ignore[no-any-return]


async def user_rows(client: GraphQLClient) -> dict[str, dict[str, Any]]:
    data = await client.data(USERS)
    return {edge["node"]["email"]: edge["node"] for edge in data["users"]["edges"]}


async def transfer_events(client: GraphQLClient) -> list[dict[str, Any]]:
    data = await client.data(ACTIVITY)
    nodes = [edge["node"] for edge in data["activity"]["edges"]]
    return [node for node in nodes if node["action"] == "OWNERSHIP_TRANSFERRED"]


async def transfer(client: GraphQLClient, user_id: str, password: str = PASSWORD) -> dict[str, Any]:
    data = await client.data(TRANSFER, {"id": user_id, "password": password})
    return data["transferOwnership"]  # type: ignore[no-any-return]


# By the owner


async def test_transfer_makes_admin_owner(team: Team) -> None:
    result = await transfer(team.owner, team.admin_id)

    assert result["errors"] == []
    assert result["organization"]["owner"] == {"id": team.admin_id, "email": "adam@acme.example", "isOwner": True}
    assert await owner_email(team.admin) == "adam@acme.example"
    rows = await user_rows(team.owner)
    assert rows["adam@acme.example"]["isOwner"] is True
    assert rows["olivia@acme.example"]["isOwner"] is False


async def test_previous_owner_stays_admin(team: Team) -> None:
    result = await transfer(team.owner, team.admin_id)
    assert result["errors"] == []

    previous = (await user_rows(team.admin))["olivia@acme.example"]

    assert previous["status"] == "ACTIVE"
    assert previous["role"] == "ADMIN"


async def test_transfer_mails_both_owners(team: Team, mailbox: Mailbox, deliver) -> None:  # type: ignore[no-untyped-def]
    result = await transfer(team.owner, team.admin_id)
    assert result["errors"] == []

    await deliver()

    to_new_owner = mailbox.to("adam@acme.example")
    to_previous_owner = mailbox.to("olivia@acme.example")
    assert len(to_new_owner) == 1
    assert len(to_previous_owner) == 1
    assert "You are now the owner of Acme" in to_new_owner[0]["Subject"]
    assert "Acme" in text_of(to_new_owner[0])
    assert "Adam Admin" in to_previous_owner[0]["Subject"]
    assert "Adam Admin" in text_of(to_previous_owner[0])


async def test_transfer_writes_event(team: Team) -> None:
    result = await transfer(team.owner, team.admin_id)
    assert result["errors"] == []

    events = await transfer_events(team.admin)

    assert len(events) == 1
    assert events[0]["actor"] == {"id": team.owner_id}
    assert events[0]["actorName"] == "Olivia Owner"
    assert events[0]["subject"] == {"id": team.admin_id}


async def test_wrong_password_changes_nothing(team: Team, mailbox: Mailbox, deliver) -> None:  # type: ignore[no-untyped-def]
    result = await transfer(team.owner, team.admin_id, "not the password")

    assert result["organization"] is None
    assert payload_codes(result) == ["INVALID_CREDENTIALS"]
    assert result["errors"][0]["field"] == ["password"]
    assert await owner_email(team.owner) == "olivia@acme.example"
    assert await transfer_events(team.owner) == []
    await deliver()
    assert mailbox.messages == []


async def test_read_only_target_rejected(team: Team) -> None:
    result = await transfer(team.owner, team.reader_id)

    assert result["organization"] is None
    assert payload_codes(result) == ["TARGET_NOT_ADMIN"]
    assert await owner_email(team.owner) == "olivia@acme.example"


async def test_invited_target_rejected(team: Team) -> None:
    invited = await team.owner.invite("nina@acme.example", "ADMIN")
    assert invited["errors"] == []

    result = await transfer(team.owner, invited["user"]["id"])

    assert result["organization"] is None
    assert payload_codes(result) == ["TARGET_NOT_ADMIN"]
    assert await owner_email(team.owner) == "olivia@acme.example"


async def test_other_organization_target_not_found(team: Team, settings: Settings) -> None:
    _, invitation = await create_organization(settings, "Globex", "gina@globex.example")

    result = await transfer(team.owner, str(invitation.membership.id))

    assert result["organization"] is None
    assert payload_codes(result) == ["NOT_FOUND"]
    assert result["errors"][0]["field"] == ["userId"]
    assert await owner_email(team.owner) == "olivia@acme.example"


async def test_transfer_to_self_rejected(team: Team) -> None:
    result = await transfer(team.owner, team.owner_id)

    assert result["organization"] is None
    assert payload_codes(result) == ["INVALID_INPUT"]
    assert result["errors"][0]["field"] == ["userId"]
    assert await transfer_events(team.owner) == []


async def test_previous_owner_is_forbidden(team: Team) -> None:
    result = await transfer(team.owner, team.admin_id)
    assert result["errors"] == []

    body = await team.owner.post(TRANSFER, {"id": team.admin_id, "password": PASSWORD})

    assert body["data"] is None
    assert top_level_codes(body) == ["FORBIDDEN"]
    assert await owner_email(team.owner) == "adam@acme.example"


# Mail to the owner


async def test_notify_owner_follows_transfer(team: Team, settings: Settings, mailbox: Mailbox, deliver) -> None:  # type: ignore[no-untyped-def]
    organization_id = int(team.organization_id)
    await notify_owner(settings, organization_id, "Invoice ready", "The invoice for March is ready.")
    await deliver()
    assert [message["Subject"] for message in mailbox.to("olivia@acme.example")] == ["[Acme] Invoice ready"]
    assert "The invoice for March is ready." in text_of(mailbox.to("olivia@acme.example")[0])

    result = await transfer(team.owner, team.admin_id)
    assert result["errors"] == []
    await deliver()
    mailbox.clear()
    await notify_owner(settings, organization_id, "Card expiring", "The card on file expires soon.")
    await deliver()

    assert [message["Subject"] for message in mailbox.to("adam@acme.example")] == ["[Acme] Card expiring"]
    assert mailbox.to("olivia@acme.example") == []


# By support


async def test_support_transfer_needs_no_password(team: Team, settings: Settings) -> None:
    organization = await transfer_by_support(settings, int(team.organization_id), "Adam@Acme.example", "Olivia left Acme.")

    assert organization.owner_user_id == int(team.admin_id)
    assert await owner_email(team.owner) == "adam@acme.example"
    assert (await user_rows(team.admin))["olivia@acme.example"]["role"] == "ADMIN"


async def test_support_transfer_rejects_non_admin(team: Team, settings: Settings) -> None:
    with pytest.raises(UserFacingError) as refused:
        await transfer_by_support(settings, int(team.organization_id), "rita@acme.example", "Olivia left Acme.")

    assert refused.value.code is ErrorCode.TARGET_NOT_ADMIN
    assert await owner_email(team.owner) == "olivia@acme.example"
    assert await transfer_events(team.owner) == []


async def test_support_transfer_unknown_address(team: Team, settings: Settings) -> None:
    with pytest.raises(UserFacingError) as refused:
        await transfer_by_support(settings, int(team.organization_id), "nobody@acme.example", "Olivia left Acme.")

    assert refused.value.code is ErrorCode.NOT_FOUND
    assert "nobody@acme.example" in refused.value.message
    assert await owner_email(team.owner) == "olivia@acme.example"


async def test_support_transfer_event_has_reason(team: Team, settings: Settings) -> None:
    await transfer_by_support(settings, int(team.organization_id), "adam@acme.example", "Olivia left Acme in May.")

    events = await transfer_events(team.admin)

    assert len(events) == 1
    assert events[0]["actor"] is None
    assert events[0]["actorName"] == "Support"
    assert events[0]["subject"] == {"id": team.admin_id}
    assert "Olivia left Acme in May." in events[0]["description"]
