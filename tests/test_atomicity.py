"""A failure in the middle of a mutation leaves nothing half-written.

Each test breaks the last step of a mutation (writing its activity event or opening its session)
and checks that the earlier steps of the same transaction were rolled back too.
"""

from __future__ import annotations

from typing import Any, NoReturn

import pytest

from models import Account, ActivityEvent, Membership, MembershipStatus, OutboxMessage, Role
from resolvers import activity, invitations
from tests.conftest import Team
from tests.support import ACCEPT, CHANGE_ROLE, INVITE, PASSWORD, REMOVE, TRANSFER, Mailbox, top_level_codes


async def fail(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError("simulated crash")


@pytest.fixture
def crash_on_activity(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every mutation writes its activity event last, after its other rows.
    monkeypatch.setattr(activity, "record", fail)


async def counts() -> tuple[int, int, int]:
    return await Membership.all().count(), await OutboxMessage.all().count(), await ActivityEvent.all().count()


async def test_crashed_invite_writes_nothing(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    before = await counts()
    monkeypatch.setattr(activity, "record", fail)

    body = await team.owner.post(INVITE, {"input": {"email": "crash@acme.example", "role": "ADMIN"}})

    assert top_level_codes(body) == ["INTERNAL_SERVER_ERROR"]
    assert "simulated crash" not in str(body)
    assert await counts() == before
    assert not await Membership.exists(email="crash@acme.example")


async def test_crashed_role_change_keeps_role(team: Team, crash_on_activity: None) -> None:
    body = await team.owner.post(CHANGE_ROLE, {"id": team.admin_id, "role": "READ_ONLY"})

    assert top_level_codes(body) == ["INTERNAL_SERVER_ERROR"]
    member = await Membership.get(id=int(team.admin_id))
    assert member.role is Role.ADMIN


async def test_crashed_removal_keeps_sessions(team: Team, crash_on_activity: None) -> None:
    body = await team.owner.post(REMOVE, {"id": team.reader_id})

    assert top_level_codes(body) == ["INTERNAL_SERVER_ERROR"]
    member = await Membership.get(id=int(team.reader_id))
    assert member.status is MembershipStatus.ACTIVE
    assert (await team.reader.data("{ viewer { email } }"))["viewer"] is not None


async def test_crashed_transfer_keeps_owner_and_mail(team: Team, crash_on_activity: None) -> None:
    messages_before = await OutboxMessage.all().count()

    body = await team.owner.post(TRANSFER, {"id": team.admin_id, "password": PASSWORD})

    assert top_level_codes(body) == ["INTERNAL_SERVER_ERROR"]
    organization = (await team.owner.data("{ organization { owner { id } } }"))["organization"]
    assert organization["owner"]["id"] == team.owner_id
    assert await OutboxMessage.all().count() == messages_before


async def test_crashed_accept_keeps_invitation(team: Team, new_client, mailbox: Mailbox, deliver, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    invited = await team.owner.invite("late@acme.example", "READ_ONLY")
    await deliver()
    token = mailbox.invitation_token("late@acme.example")
    monkeypatch.setattr(invitations, "open_session", fail)

    body = await new_client().post(ACCEPT, {"input": {"token": token, "name": "Late", "password": PASSWORD}})

    assert top_level_codes(body) == ["INTERNAL_SERVER_ERROR"]
    member = await Membership.get(id=int(invited["user"]["id"]))
    assert member.status is MembershipStatus.INVITED
    assert member.account_id is None  # type: ignore[attr-defined]
    assert not await Account.exists(email="late@acme.example")

    # The link still works once the failure is gone.
    monkeypatch.undo()
    accepted = await new_client().accept(token, "Late")
    assert accepted["errors"] == []
