"""Session expiry (idle and absolute), tokens stored as hashes, and argon2 rehashing at sign-in."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from console_users.clock import utcnow
from console_users.settings import Settings
from models import Account, Session
from resolvers.credentials import use_password_hasher
from tests.conftest import Team
from tests.support import PASSWORD, VIEWER

COOKIE = "__Host-session"


async def owner_session(team: Team) -> Session:
    token = team.owner.http.cookies[COOKIE]
    return await Session.get(token_hash=hashlib.sha256(token.encode()).hexdigest())


async def test_session_ends_after_idle_timeout(team: Team, settings: Settings) -> None:
    session = await owner_session(team)
    idle_since = utcnow() - timedelta(seconds=settings.session_idle_timeout_seconds + 1)
    await Session.filter(id=session.id).update(last_used_at=idle_since)

    viewer = (await team.owner.data(VIEWER))["viewer"]

    assert viewer is None
    assert not await Session.exists(id=session.id)


async def test_session_survives_shorter_idle_time(team: Team, settings: Settings) -> None:
    session = await owner_session(team)
    idle_since = utcnow() - timedelta(seconds=settings.session_idle_timeout_seconds - 60)
    await Session.filter(id=session.id).update(last_used_at=idle_since)

    viewer = (await team.owner.data(VIEWER))["viewer"]
    touched = await Session.get(id=session.id)

    assert viewer is not None
    assert touched.last_used_at > idle_since


async def test_session_ends_after_absolute_lifetime(team: Team, settings: Settings) -> None:
    session = await owner_session(team)
    signed_in_at = utcnow() - timedelta(seconds=settings.session_lifetime_seconds + 1)
    # Used a moment ago, so only the absolute lifetime can end it.
    await Session.filter(id=session.id).update(created_at=signed_in_at, last_used_at=utcnow())

    viewer = (await team.owner.data(VIEWER))["viewer"]

    assert viewer is None
    assert not await Session.exists(id=session.id)


async def test_only_token_hash_is_stored(team: Team) -> None:
    token = team.owner.http.cookies[COOKIE]

    stored = await Session.filter(token_hash=hashlib.sha256(token.encode()).hexdigest()).count()
    in_clear = await Session.filter(token_hash=token).count()

    assert stored == 1
    assert in_clear == 0


async def test_login_rehashes_changed_argon2_parameters(team: Team) -> None:
    before = (await Account.get(email="rita@acme.example")).password_hash
    stronger = PasswordHasher(
        time_cost=CHEAPEST.time_cost + 1,
        memory_cost=CHEAPEST.memory_cost,
        parallelism=CHEAPEST.parallelism,
        hash_len=CHEAPEST.hash_len,
        salt_len=CHEAPEST.salt_len,
    )
    use_password_hasher(stronger)
    try:
        signed_in = await team.anonymous.login("rita@acme.example")
    finally:
        use_password_hasher(PasswordHasher.from_parameters(CHEAPEST))
    after = (await Account.get(email="rita@acme.example")).password_hash

    assert signed_in["errors"] == []
    assert after != before
    assert f"t={CHEAPEST.time_cost + 1}," in after
    assert stronger.verify(after, PASSWORD)


async def test_login_keeps_current_hash(team: Team) -> None:
    before = (await Account.get(email="rita@acme.example")).password_hash

    signed_in = await team.anonymous.login("rita@acme.example")
    after = (await Account.get(email="rita@acme.example")).password_hash

    assert signed_in["errors"] == []
    assert after == before
