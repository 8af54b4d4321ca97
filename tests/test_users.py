"""The Users section over HTTP: changing roles, removing users, and listing users."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from console_users.clock import utcnow
from console_users.settings import Settings
from models import Membership, Role, Session
from resolvers.organizations import create_organization
from tests.conftest import Team, organization_with_one_active_admin
from tests.support import CHANGE_ROLE, PASSWORD, REMOVE, VIEWER, GraphQLClient, payload_codes, top_level_codes

USERS = """
query($first: Int, $after: String, $filter: UserFilter) {
  users(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id email name role status isOwner removedAt } }
  }
}"""

USER = "query($id: ID!) { user(id: $id) { id email name role status isOwner } }"

ACTIVITY = """
query {
  activity(first: 100) {
    edges { node { action actorName actor { id status } subject { id } } }
  }
}"""

# The Users page of the console: every column, including the inviter through a loader.
USERS_PAGE = """
query {
  users(first: 50) {
    totalCount
    edges { node { id email name role status isOwner invitedBy { name } invitationEmail } }
  }
}"""

STATEMENT_LOGGER = "tortoise.db_client"
POOL_MESSAGES = ("Created connection pool", "Closed connection pool")


async def list_users(client: GraphQLClient, **variables: Any) -> dict[str, Any]:
    data = await client.data(USERS, variables)
    return data["users"]  # type: ignore[no-any-return]


def emails_of(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["email"] for edge in connection["edges"]]


def row_for(connection: dict[str, Any], email: str) -> dict[str, Any]:
    rows = [edge["node"] for edge in connection["edges"] if edge["node"]["email"] == email]
    assert len(rows) == 1, connection
    return rows[0]


async def event_count(client: GraphQLClient) -> int:
    data = await client.data(ACTIVITY)
    return len(data["activity"]["edges"])


async def other_organization_user_id(settings: Settings) -> str:
    _, invitation = await create_organization(settings, "Globex", "gina@globex.example")
    return str(invitation.membership.id)


async def invite_many(inviter: GraphQLClient, addresses: list[str], role: str = "READ_ONLY") -> list[str]:
    ids = []
    for address in addresses:
        invited = await inviter.invite(address, role)
        assert invited["errors"] == [], invited
        ids.append(invited["user"]["id"])
    return ids


class StatementLog(logging.Handler):
    """A logging handler that keeps the SQL statements Tortoise logs at DEBUG, one record per statement."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(POOL_MESSAGES):
            self.statements.append(message)


async def statements_of(client: GraphQLClient, query: str) -> list[str]:
    """Run a query that must succeed and return the SQL statements it ran."""
    # An uncounted request first writes the session's last_used_at when that write is due,
    # so the counted request below never includes it.
    await client.data(query)
    logger = logging.getLogger(STATEMENT_LOGGER)
    previous_level = logger.level
    handler = StatementLog()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        await client.data(query)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
    return handler.statements


# changeUserRole


async def test_admin_demoted_then_promoted(team: Team) -> None:
    demoted = (await team.owner.data(CHANGE_ROLE, {"id": team.admin_id, "role": "READ_ONLY"}))["changeUserRole"]
    assert demoted["errors"] == []
    assert demoted["user"]["role"] == "READ_ONLY"
    seen_by_admin = await team.admin.data(VIEWER)
    assert seen_by_admin["viewer"]["user"]["role"] == "READ_ONLY"

    promoted = (await team.owner.data(CHANGE_ROLE, {"id": team.admin_id, "role": "ADMIN"}))["changeUserRole"]
    assert promoted["errors"] == []
    assert promoted["user"]["role"] == "ADMIN"
    seen_again = await team.admin.data(VIEWER)
    assert seen_again["viewer"]["user"]["role"] == "ADMIN"


async def test_same_role_writes_no_event(team: Team) -> None:
    before = await event_count(team.owner)

    result = (await team.owner.data(CHANGE_ROLE, {"id": team.reader_id, "role": "READ_ONLY"}))["changeUserRole"]

    assert result["errors"] == []
    assert result["user"]["role"] == "READ_ONLY"
    assert await event_count(team.owner) == before


async def test_owner_must_stay_admin(team: Team) -> None:
    result = (await team.admin.data(CHANGE_ROLE, {"id": team.owner_id, "role": "READ_ONLY"}))["changeUserRole"]

    assert result["user"] is None
    assert payload_codes(result) == ["OWNER_MUST_STAY_ADMIN"]
    assert result["errors"][0]["field"] == ["role"]
    owner = (await team.admin.data(USER, {"id": team.owner_id}))["user"]
    assert owner["role"] == "ADMIN"


async def test_last_admin_cannot_be_demoted(settings: Settings, new_client) -> None:  # type: ignore[no-untyped-def]
    admin, admin_id = await organization_with_one_active_admin(settings, new_client)

    result = (await admin.data(CHANGE_ROLE, {"id": admin_id, "role": "READ_ONLY"}))["changeUserRole"]

    assert result["user"] is None
    assert payload_codes(result) == ["LAST_ADMIN"]
    assert result["errors"][0]["field"] == ["userId"]
    assert (await admin.data(VIEWER))["viewer"]["user"]["role"] == "ADMIN"


async def test_last_admin_cannot_be_removed(settings: Settings, new_client) -> None:  # type: ignore[no-untyped-def]
    admin, admin_id = await organization_with_one_active_admin(settings, new_client)

    result = (await admin.data(REMOVE, {"id": admin_id}))["removeUser"]

    assert result["user"] is None
    assert payload_codes(result) == ["LAST_ADMIN"]
    assert result["errors"][0]["field"] == ["userId"]
    assert (await admin.data(VIEWER))["viewer"]["user"]["status"] == "ACTIVE"


async def test_removed_user_role_unchangeable(team: Team) -> None:
    removed = (await team.owner.data(REMOVE, {"id": team.reader_id}))["removeUser"]
    assert removed["errors"] == []

    result = (await team.owner.data(CHANGE_ROLE, {"id": team.reader_id, "role": "ADMIN"}))["changeUserRole"]

    assert result["user"] is None
    assert payload_codes(result) == ["INVALID_INPUT"]
    assert result["errors"][0]["field"] == ["userId"]
    row = (await team.owner.data(USER, {"id": team.reader_id}))["user"]
    assert row["role"] == "READ_ONLY"


async def test_role_change_unknown_id_not_found(team: Team) -> None:
    for user_id in ("999999", "abc"):
        result = (await team.owner.data(CHANGE_ROLE, {"id": user_id, "role": "ADMIN"}))["changeUserRole"]
        assert result["user"] is None, user_id
        assert payload_codes(result) == ["NOT_FOUND"], user_id
        assert result["errors"][0]["field"] == ["userId"], user_id


async def test_other_organization_user_not_found(team: Team, settings: Settings) -> None:
    stranger_id = await other_organization_user_id(settings)

    role_change = (await team.owner.data(CHANGE_ROLE, {"id": stranger_id, "role": "READ_ONLY"}))["changeUserRole"]
    removal = (await team.owner.data(REMOVE, {"id": stranger_id}))["removeUser"]

    assert payload_codes(role_change) == ["NOT_FOUND"]
    assert payload_codes(removal) == ["NOT_FOUND"]
    stranger = await Membership.get(id=int(stranger_id))
    assert stranger.role is Role.ADMIN
    assert stranger.removed_at is None


# removeUser


async def test_removed_member_gets_removed_at(team: Team) -> None:
    result = (await team.owner.data(REMOVE, {"id": team.reader_id}))["removeUser"]

    assert result["errors"] == []
    assert result["user"]["id"] == team.reader_id
    assert result["user"]["status"] == "REMOVED"
    assert result["user"]["removedAt"] is not None


async def test_removed_member_session_ends(team: Team) -> None:
    assert (await team.reader.data(VIEWER))["viewer"] is not None

    result = (await team.owner.data(REMOVE, {"id": team.reader_id}))["removeUser"]
    assert result["errors"] == []

    assert (await team.reader.data(VIEWER))["viewer"] is None
    assert await Session.filter(account__email="rita@acme.example").count() == 0


async def test_owner_cannot_be_removed(team: Team) -> None:
    result = (await team.admin.data(REMOVE, {"id": team.owner_id}))["removeUser"]

    assert result["user"] is None
    assert payload_codes(result) == ["CANNOT_REMOVE_OWNER"]
    assert result["errors"][0]["field"] == ["userId"]
    assert (await team.owner.data(VIEWER))["viewer"]["user"]["status"] == "ACTIVE"


async def test_removing_removed_user_invalid(team: Team) -> None:
    first = (await team.owner.data(REMOVE, {"id": team.reader_id}))["removeUser"]
    assert first["errors"] == []

    second = (await team.owner.data(REMOVE, {"id": team.reader_id}))["removeUser"]

    assert second["user"] is None
    assert payload_codes(second) == ["INVALID_INPUT"]
    assert second["errors"][0]["field"] == ["userId"]


async def test_removal_unknown_id_not_found(team: Team) -> None:
    for user_id in ("999999", "abc"):
        result = (await team.owner.data(REMOVE, {"id": user_id}))["removeUser"]
        assert result["user"] is None, user_id
        assert payload_codes(result) == ["NOT_FOUND"], user_id
        assert result["errors"][0]["field"] == ["userId"], user_id


async def test_removed_user_keeps_name(team: Team) -> None:
    result = (await team.owner.data(REMOVE, {"id": team.reader_id}))["removeUser"]
    assert result["errors"] == []

    removed = await list_users(team.owner, filter={"status": ["REMOVED"]})
    assert emails_of(removed) == ["rita@acme.example"]
    row = row_for(removed, "rita@acme.example")
    assert row["name"] == "Rita Reader"
    assert row["status"] == "REMOVED"

    events = (await team.owner.data(ACTIVITY))["activity"]["edges"]
    accepted = [
        edge["node"] for edge in events
        if edge["node"]["action"] == "INVITATION_ACCEPTED" and edge["node"]["subject"]["id"] == team.reader_id
    ]
    assert len(accepted) == 1
    assert accepted[0]["actorName"] == "Rita Reader"
    assert accepted[0]["actor"] == {"id": team.reader_id, "status": "REMOVED"}


async def test_readding_reuses_same_row(team: Team, mailbox, deliver, new_client) -> None:  # type: ignore[no-untyped-def]
    removed = (await team.owner.data(REMOVE, {"id": team.reader_id}))["removeUser"]
    assert removed["errors"] == []

    invited = await team.owner.invite("rita@acme.example", "ADMIN")

    assert invited["errors"] == []
    assert invited["user"]["id"] == team.reader_id
    assert invited["user"]["status"] == "INVITED"
    assert invited["user"]["role"] == "ADMIN"
    assert emails_of(await list_users(team.owner)).count("rita@acme.example") == 1

    await deliver()
    returning = new_client()
    accepted = await returning.accept(mailbox.invitation_token("rita@acme.example"), None, PASSWORD)
    assert accepted["errors"] == []
    assert accepted["viewer"]["user"]["id"] == team.reader_id
    assert accepted["viewer"]["user"]["status"] == "ACTIVE"


# users and user


async def test_default_filter_hides_removed(team: Team) -> None:
    pending_id, expired_id = await invite_many(team.owner, ["nina@acme.example", "otto@acme.example"])
    await Membership.filter(id=int(expired_id)).update(invitation_expires_at=utcnow() - timedelta(days=1))
    removed = (await team.owner.data(REMOVE, {"id": team.reader_id}))["removeUser"]
    assert removed["errors"] == []

    listed = await list_users(team.owner)

    assert "rita@acme.example" not in emails_of(listed)
    assert row_for(listed, "olivia@acme.example")["status"] == "ACTIVE"
    assert row_for(listed, "nina@acme.example")["status"] == "INVITED"
    assert row_for(listed, "otto@acme.example")["status"] == "INVITATION_EXPIRED"
    assert listed["totalCount"] == 4


async def test_filter_by_status_list(team: Team) -> None:
    await invite_many(team.owner, ["nina@acme.example"])
    removed = (await team.owner.data(REMOVE, {"id": team.reader_id}))["removeUser"]
    assert removed["errors"] == []

    listed = await list_users(team.owner, filter={"status": ["INVITED", "REMOVED"]})

    assert sorted(emails_of(listed)) == ["nina@acme.example", "rita@acme.example"]
    assert listed["totalCount"] == 2


async def test_filter_by_role(team: Team) -> None:
    await invite_many(team.owner, ["nina@acme.example"], role="ADMIN")

    admins = await list_users(team.owner, filter={"role": "ADMIN"})
    readers = await list_users(team.owner, filter={"role": "READ_ONLY"})

    assert sorted(emails_of(admins)) == ["adam@acme.example", "nina@acme.example", "olivia@acme.example"]
    assert emails_of(readers) == ["rita@acme.example"]


async def test_search_matches_part_of_email(team: Team) -> None:
    await invite_many(team.owner, ["nina.newcomer@acme.example"])

    by_member_email = await list_users(team.owner, filter={"search": "ADAM@"})
    by_invitee_email = await list_users(team.owner, filter={"search": "Newcomer"})

    assert emails_of(by_member_email) == ["adam@acme.example"]
    assert emails_of(by_invitee_email) == ["nina.newcomer@acme.example"]


async def test_search_matches_part_of_name(team: Team) -> None:
    listed = await list_users(team.owner, filter={"search": "reADER"})

    assert emails_of(listed) == ["rita@acme.example"]
    assert listed["totalCount"] == 1


async def test_search_ignores_case_beyond_ascii(team: Team, mailbox, deliver, new_client) -> None:  # type: ignore[no-untyped-def]
    await invite_many(team.owner, ["asa@acme.example"])
    await deliver()
    accepted = await new_client().accept(mailbox.invitation_token("asa@acme.example"), "Åsa Öberg")
    assert accepted["errors"] == [], accepted

    listed = await list_users(team.owner, filter={"search": "åsa öb"})

    assert emails_of(listed) == ["asa@acme.example"]


async def test_search_wildcards_match_literally(team: Team) -> None:
    await invite_many(team.owner, ["per%cent@acme.example", "under_score@acme.example"])

    percent = await list_users(team.owner, filter={"search": "%"})
    underscore = await list_users(team.owner, filter={"search": "_"})

    assert emails_of(percent) == ["per%cent@acme.example"]
    assert emails_of(underscore) == ["under_score@acme.example"]


async def test_total_count_counts_all_matches(team: Team) -> None:
    listed = await list_users(team.owner, first=1)

    assert len(listed["edges"]) == 1
    assert listed["totalCount"] == 3
    assert listed["pageInfo"]["hasNextPage"] is True


async def test_paging_walks_every_user_once(team: Team) -> None:
    await invite_many(team.owner, [f"member{number}@acme.example" for number in range(5)])
    everyone = await list_users(team.owner)
    assert everyone["totalCount"] == 8

    seen: list[str] = []
    has_next_pages: list[bool] = []
    after = None
    for _ in range(10):  # 8 users in pages of 3 take three requests; the bound only stops a runaway loop.
        page = await list_users(team.owner, first=3, after=after)
        assert page["totalCount"] == 8
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        seen.extend(edge["node"]["id"] for edge in page["edges"])
        has_next_pages.append(page["pageInfo"]["hasNextPage"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert has_next_pages == [True, True, False]
    assert seen == [edge["node"]["id"] for edge in everyone["edges"]]
    assert len(set(seen)) == 8


async def test_first_zero_gives_empty_page(team: Team) -> None:
    listed = await list_users(team.owner, first=0)

    assert listed["edges"] == []
    assert listed["totalCount"] == 3
    assert listed["pageInfo"]["endCursor"] is None


async def test_page_size_out_of_range(team: Team) -> None:
    for first in (101, -1):
        body = await team.owner.post(USERS, {"first": first})
        assert body["data"] is None, first
        assert top_level_codes(body) == ["INVALID_INPUT"], first


async def test_malformed_cursor_rejected(team: Team) -> None:
    body = await team.owner.post(USERS, {"first": 2, "after": "not a cursor"})

    assert body["data"] is None
    assert top_level_codes(body) == ["INVALID_INPUT"]


async def test_user_by_id(team: Team, settings: Settings) -> None:
    stranger_id = await other_organization_user_id(settings)

    found = (await team.owner.data(USER, {"id": team.admin_id}))["user"]
    unknown = (await team.owner.data(USER, {"id": "999999"}))["user"]
    malformed = (await team.owner.data(USER, {"id": "abc"}))["user"]
    stranger = (await team.owner.data(USER, {"id": stranger_id}))["user"]

    assert found == {
        "id": team.admin_id, "email": "adam@acme.example", "name": "Adam Admin",
        "role": "ADMIN", "status": "ACTIVE", "isOwner": False,
    }
    assert unknown is None
    assert malformed is None
    assert stranger is None


# Performance by design: a page costs the same number of statements however many rows it has.


async def test_users_page_statements_constant(team: Team, mailbox, deliver, new_client) -> None:  # type: ignore[no-untyped-def]
    # The small page has a pending invitation too, so both pages resolve the same fields.
    by_owner = await invite_many(team.owner, ["early@acme.example"])
    with_four = await statements_of(team.owner, USERS_PAGE)

    by_owner += await invite_many(team.owner, [f"owner-pick{number}@acme.example" for number in range(19)])
    await invite_many(team.admin, [f"admin-pick{number}@acme.example" for number in range(21)], "ADMIN")
    await deliver()
    for number in range(0, 20, 4):
        for address in (f"owner-pick{number}@acme.example", f"admin-pick{number}@acme.example"):
            accepted = await new_client().accept(mailbox.invitation_token(address), f"Person {address}")
            assert accepted["errors"] == [], accepted
    # One invitation whose mail is still QUEUED and one that expired, so every status shows.
    by_owner += await invite_many(team.owner, ["late@acme.example"])
    await Membership.filter(id=int(by_owner[1])).update(invitation_expires_at=utcnow() - timedelta(days=1))

    with_forty_five = await statements_of(team.owner, USERS_PAGE)

    page = (await team.owner.data(USERS_PAGE))["users"]
    assert page["totalCount"] == 45
    assert len(page["edges"]) == 45
    assert len(with_forty_five) == len(with_four), with_forty_five
    assert [statement for statement in with_forty_five if "OFFSET" in statement.upper()] == []
