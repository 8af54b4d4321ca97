"""The activity log: one event per change, newest first, with names as they were at the time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from console_users.settings import Settings
from models import Account
from tests.conftest import Team, organization_with_one_active_admin
from tests.support import (
    CHANGE_ROLE,
    PASSWORD,
    REMOVE,
    RESEND,
    TRANSFER,
    GraphQLClient,
    Mailbox,
    payload_codes,
)

ACTIVITY = """
query($first: Int, $after: String) {
  activity(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node { id action actor { id status } actorName subject { id email } description createdAt }
    }
  }
}"""


async def all_events(client: GraphQLClient) -> list[dict[str, Any]]:
    """Return every event of the client's organization, newest first, from one page of 100."""
    data = await client.data(ACTIVITY, {"first": 100})
    assert data["activity"]["pageInfo"]["hasNextPage"] is False
    return [edge["node"] for edge in data["activity"]["edges"]]


def ids_of(events: list[dict[str, Any]]) -> list[str]:
    return [event["id"] for event in events]


async def one_new_event(client: GraphQLClient, before: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the only event written since `before` was read."""
    after = await all_events(client)
    assert len(after) == len(before) + 1, [event["description"] for event in after]
    assert ids_of(after[1:]) == ids_of(before)
    return after[0]


# One event per change


async def test_invite_writes_event(team: Team) -> None:
    before = await all_events(team.owner)

    invited = await team.owner.invite("nina@acme.example", "READ_ONLY")
    assert invited["errors"] == []

    event = await one_new_event(team.owner, before)
    assert event["action"] == "USER_INVITED"
    assert event["actor"] == {"id": team.owner_id, "status": "ACTIVE"}
    assert event["actorName"] == "Olivia Owner"
    assert event["subject"] == {"id": invited["user"]["id"], "email": "nina@acme.example"}
    assert "Olivia Owner" in event["description"]
    assert "nina@acme.example" in event["description"]
    assert "invited" in event["description"]
    assert "Read-Only" in event["description"]


async def test_resend_writes_event(team: Team) -> None:
    invited = await team.owner.invite("nina@acme.example", "READ_ONLY")
    assert invited["errors"] == []
    before = await all_events(team.owner)

    resent = (await team.admin.data(RESEND, {"id": invited["user"]["id"]}))["resendInvitation"]
    assert resent["errors"] == []

    event = await one_new_event(team.owner, before)
    assert event["action"] == "INVITATION_RESENT"
    assert event["actor"] == {"id": team.admin_id, "status": "ACTIVE"}
    assert event["actorName"] == "Adam Admin"
    assert event["subject"] == {"id": invited["user"]["id"], "email": "nina@acme.example"}
    assert "Adam Admin" in event["description"]
    assert "nina@acme.example" in event["description"]
    assert "resent" in event["description"]


async def test_accept_writes_event(team: Team, mailbox: Mailbox, deliver, new_client) -> None:  # type: ignore[no-untyped-def]
    invited = await team.owner.invite("nina@acme.example", "READ_ONLY")
    assert invited["errors"] == []
    await deliver()
    before = await all_events(team.owner)

    accepted = await new_client().accept(mailbox.invitation_token("nina@acme.example"), "Nina Newcomer")
    assert accepted["errors"] == []

    event = await one_new_event(team.owner, before)
    nina_id = invited["user"]["id"]
    assert event["action"] == "INVITATION_ACCEPTED"
    assert event["actor"] == {"id": nina_id, "status": "ACTIVE"}
    assert event["actorName"] == "Nina Newcomer"
    assert event["subject"] == {"id": nina_id, "email": "nina@acme.example"}
    assert "Nina Newcomer" in event["description"]
    assert "nina@acme.example" in event["description"]
    assert "accepted" in event["description"]
    assert "Read-Only" in event["description"]


async def test_revoke_writes_event(team: Team) -> None:
    invited = await team.owner.invite("nina@acme.example", "ADMIN")
    assert invited["errors"] == []
    before = await all_events(team.owner)

    revoked = (await team.admin.data(REMOVE, {"id": invited["user"]["id"]}))["removeUser"]
    assert revoked["errors"] == []

    event = await one_new_event(team.owner, before)
    assert event["action"] == "INVITATION_REVOKED"
    assert event["actor"] == {"id": team.admin_id, "status": "ACTIVE"}
    assert event["actorName"] == "Adam Admin"
    assert event["subject"] == {"id": invited["user"]["id"], "email": "nina@acme.example"}
    assert "Adam Admin" in event["description"]
    assert "nina@acme.example" in event["description"]
    assert "revoked" in event["description"]


async def test_role_change_writes_event(team: Team) -> None:
    before = await all_events(team.owner)

    changed = (await team.owner.data(CHANGE_ROLE, {"id": team.reader_id, "role": "ADMIN"}))["changeUserRole"]
    assert changed["errors"] == []

    event = await one_new_event(team.owner, before)
    assert event["action"] == "USER_ROLE_CHANGED"
    assert event["actor"] == {"id": team.owner_id, "status": "ACTIVE"}
    assert event["actorName"] == "Olivia Owner"
    assert event["subject"] == {"id": team.reader_id, "email": "rita@acme.example"}
    assert "Olivia Owner" in event["description"]
    assert "Rita Reader" in event["description"]
    assert "from Read-Only to Admin" in event["description"]


async def test_removal_writes_event(team: Team) -> None:
    before = await all_events(team.owner)

    removed = (await team.admin.data(REMOVE, {"id": team.reader_id}))["removeUser"]
    assert removed["errors"] == []

    event = await one_new_event(team.owner, before)
    assert event["action"] == "USER_REMOVED"
    assert event["actor"] == {"id": team.admin_id, "status": "ACTIVE"}
    assert event["actorName"] == "Adam Admin"
    assert event["subject"] == {"id": team.reader_id, "email": "rita@acme.example"}
    assert "Adam Admin" in event["description"]
    assert "Rita Reader" in event["description"]
    assert "removed" in event["description"]


async def test_transfer_writes_event(team: Team) -> None:
    before = await all_events(team.owner)

    transferred = (await team.owner.data(TRANSFER, {"id": team.admin_id, "password": PASSWORD}))["transferOwnership"]
    assert transferred["errors"] == []

    event = await one_new_event(team.owner, before)
    assert event["action"] == "OWNERSHIP_TRANSFERRED"
    assert event["actor"] == {"id": team.owner_id, "status": "ACTIVE"}
    assert event["actorName"] == "Olivia Owner"
    assert event["subject"] == {"id": team.admin_id, "email": "adam@acme.example"}
    assert "Olivia Owner" in event["description"]
    assert "Adam Admin" in event["description"]
    assert "transferred ownership of Acme" in event["description"]


# Reading the log


async def test_activity_newest_first(team: Team) -> None:
    changed = (await team.owner.data(CHANGE_ROLE, {"id": team.reader_id, "role": "ADMIN"}))["changeUserRole"]
    assert changed["errors"] == []

    events = await all_events(team.owner)

    assert [event["action"] for event in events] == [
        "USER_ROLE_CHANGED",
        "INVITATION_ACCEPTED",  # Rita
        "USER_INVITED",
        "INVITATION_ACCEPTED",  # Adam
        "USER_INVITED",
        "INVITATION_ACCEPTED",  # Olivia
        "USER_INVITED",
    ]
    created = [datetime.fromisoformat(event["createdAt"]) for event in events]
    assert created == sorted(created, reverse=True)


async def test_system_invitation_has_no_actor(team: Team) -> None:
    oldest = (await all_events(team.owner))[-1]

    assert oldest["action"] == "USER_INVITED"
    assert oldest["actor"] is None
    assert oldest["actorName"] == "System"
    assert oldest["subject"] == {"id": team.owner_id, "email": "olivia@acme.example"}


async def test_paging_walks_all_events(team: Team) -> None:
    changed = (await team.owner.data(CHANGE_ROLE, {"id": team.reader_id, "role": "ADMIN"}))["changeUserRole"]
    assert changed["errors"] == []
    everything = await all_events(team.owner)
    assert len(everything) == 7

    seen: list[str] = []
    has_next_pages: list[bool] = []
    after = None
    for _ in range(10):  # 7 events in pages of 2 take four requests; the bound only stops a runaway loop.
        data = await team.owner.data(ACTIVITY, {"first": 2, "after": after})
        page = data["activity"]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        seen.extend(edge["node"]["id"] for edge in page["edges"])
        has_next_pages.append(page["pageInfo"]["hasNextPage"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert has_next_pages == [True, True, True, False]
    assert seen == ids_of(everything)


# Names in the log


async def test_events_survive_actor_removal(team: Team) -> None:
    changed = (await team.admin.data(CHANGE_ROLE, {"id": team.reader_id, "role": "ADMIN"}))["changeUserRole"]
    assert changed["errors"] == []

    removed = (await team.owner.data(REMOVE, {"id": team.admin_id}))["removeUser"]
    assert removed["errors"] == []

    by_adam = [event for event in await all_events(team.owner) if event["actorName"] == "Adam Admin"]
    assert [event["action"] for event in by_adam] == ["USER_ROLE_CHANGED", "INVITATION_ACCEPTED"]
    for event in by_adam:
        assert event["actor"] == {"id": team.admin_id, "status": "REMOVED"}, event
    assert "Adam Admin" in by_adam[0]["description"]


async def test_actor_name_copied_at_time(team: Team) -> None:
    first = (await team.owner.data(CHANGE_ROLE, {"id": team.reader_id, "role": "ADMIN"}))["changeUserRole"]
    assert first["errors"] == []

    await Account.filter(email="olivia@acme.example").update(name="Olivia Renamed")
    second = (await team.owner.data(CHANGE_ROLE, {"id": team.reader_id, "role": "READ_ONLY"}))["changeUserRole"]
    assert second["errors"] == []

    events = await all_events(team.owner)
    assert events[0]["actorName"] == "Olivia Renamed"
    assert events[1]["actorName"] == "Olivia Owner"
    assert "Olivia Owner" in events[1]["description"]
    invitations_by_olivia = [event for event in events if event["action"] == "USER_INVITED" and event["actor"] is not None]
    assert [event["actorName"] for event in invitations_by_olivia] == ["Olivia Owner", "Olivia Owner"]


# Refusals


async def test_already_member_writes_no_event(team: Team) -> None:
    before = await all_events(team.owner)

    invited = await team.owner.invite("adam@acme.example", "READ_ONLY")

    assert payload_codes(invited) == ["ALREADY_MEMBER"]
    assert ids_of(await all_events(team.owner)) == ids_of(before)


async def test_last_admin_writes_no_event(settings: Settings, new_client) -> None:  # type: ignore[no-untyped-def]
    admin, admin_id = await organization_with_one_active_admin(settings, new_client)
    before = await all_events(admin)

    demoted = (await admin.data(CHANGE_ROLE, {"id": admin_id, "role": "READ_ONLY"}))["changeUserRole"]
    removed = (await admin.data(REMOVE, {"id": admin_id}))["removeUser"]

    assert payload_codes(demoted) == ["LAST_ADMIN"]
    assert payload_codes(removed) == ["LAST_ADMIN"]
    assert ids_of(await all_events(admin)) == ids_of(before)


async def test_other_refusals_write_no_event(team: Team) -> None:
    before = await all_events(team.owner)

    owner_demoted = (await team.admin.data(CHANGE_ROLE, {"id": team.owner_id, "role": "READ_ONLY"}))["changeUserRole"]
    owner_removed = (await team.admin.data(REMOVE, {"id": team.owner_id}))["removeUser"]
    reader_promoted = (await team.owner.data(TRANSFER, {"id": team.reader_id, "password": PASSWORD}))["transferOwnership"]
    wrong_password = (await team.owner.data(TRANSFER, {"id": team.admin_id, "password": "not the password"}))["transferOwnership"]

    assert payload_codes(owner_demoted) == ["OWNER_MUST_STAY_ADMIN"]
    assert payload_codes(owner_removed) == ["CANNOT_REMOVE_OWNER"]
    assert payload_codes(reader_promoted) == ["TARGET_NOT_ADMIN"]
    assert payload_codes(wrong_password) == ["INVALID_CREDENTIALS"]
    assert ids_of(await all_events(team.owner)) == ids_of(before)
