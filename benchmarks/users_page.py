"""Benchmark: does a page of `users` cost the same however deep it is?

Seeds one organization with many members, then times `users(first: 50, after: ...)` through the
ASGI app at several depths. Each depth is reported as a ratio against the first page, measured in
the same run. For contrast, the same pages are read with LIMIT/OFFSET straight from the ORM, whose
cost grows with the depth. Peak memory of one deep API page is reported against the first page.

    .venv/bin/python -m benchmarks.users_page [--members 5000] [--repeat 15] [--database-url URL]

Without --database-url the run uses a temporary SQLite file. Numbers vary by machine; the ratios
are what to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from tortoise import Tortoise

from console_users.app import create_app
from console_users.clock import utcnow
from console_users.database import apply_migrations, tortoise_config
from console_users.settings import Settings
from models import Account, Membership, MembershipStatus, Role
from resolvers.credentials import use_password_hasher
from resolvers.organizations import create_organization
from schema.pagination import encode_cursor

PAGE = "query($after: String) { users(first: 50, after: $after) { edges { node { id email name role status } } } }"
PASSWORD = "benchmark passphrase"


async def seed(settings: Settings, members: int) -> tuple[int, str]:
    """Create the organization with `members` active members; return its id and the owner's token."""
    organization, invitation = await create_organization(settings, "Benchmark Co", "owner@bench.example")
    now = utcnow()
    await Account.bulk_create(
        [Account(email=f"m{number}@bench.example", name=f"Member {number}", password_hash="x") for number in range(members)],
        batch_size=1000,
    )
    stored = await Account.filter(email__startswith="m").values_list("id", "email")
    await Membership.bulk_create(
        [
            Membership(
                organization_id=organization.id, email=email, account_id=account_id,
                role=Role.READ_ONLY, status=MembershipStatus.ACTIVE, joined_at=now,
            )
            for account_id, email in stored
        ],
        batch_size=1000,
    )
    return organization.id, invitation.token


async def median_seconds(work: Callable[[], Awaitable[object]], repeat: int) -> float:
    await work()  # warm caches and prepared statements
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def peak_bytes(work: Callable[[], Awaitable[object]]) -> int:
    tracemalloc.start()
    try:
        await work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def run(settings: Settings, members: int, repeat: int) -> None:
    use_password_hasher(PasswordHasher.from_parameters(CHEAPEST))
    await apply_migrations(settings)
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)
    try:
        organization_id, token = await seed(settings, members)
        app = create_app(settings, manage_database=False, deliver_mail=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://bench.test") as http:
            accept = "mutation($t: String!, $p: String!) { acceptInvitation(input: {token: $t, name: \"Owner\", password: $p}) { errors { code } } }"
            await http.post("/graphql", json={"query": accept, "variables": {"t": token, "p": PASSWORD}})
            ids = await Membership.filter(organization_id=organization_id).order_by("id").values_list("id", flat=True)

            async def api_page(depth: int) -> None:
                after = encode_cursor("user", ids[depth - 1]) if depth else None
                response = await http.post("/graphql", json={"query": PAGE, "variables": {"after": after}})
                assert len(response.json()["data"]["users"]["edges"]) == 50

            async def offset_page(depth: int) -> None:
                rows = await Membership.filter(organization_id=organization_id).order_by("id").offset(depth).limit(51).select_related("account")
                assert len(rows) >= 50

            depths = [0, len(ids) // 2, len(ids) - 51]
            api = {depth: await median_seconds(lambda depth=depth: api_page(depth), repeat) for depth in depths}
            offset = {depth: await median_seconds(lambda depth=depth: offset_page(depth), repeat) for depth in depths}
            memory = {depth: await peak_bytes(lambda depth=depth: api_page(depth)) for depth in (depths[0], depths[-1])}

        print(f"{members} members, {repeat} timed runs per point, database {settings.database_url.split(':')[0]}")
        print(f"{'depth':>8}  {'API page':>10}  {'vs first':>8}  {'OFFSET read':>11}  {'vs first':>8}")
        for depth in depths:
            print(
                f"{depth:>8}  {api[depth] * 1000:>8.2f}ms  {api[depth] / api[0]:>8.2f}  "
                f"{offset[depth] * 1000:>9.2f}ms  {offset[depth] / offset[0]:>8.2f}"
            )
        print(f"peak memory of the deepest API page vs the first: {memory[depths[-1]] / memory[0]:.2f}")
    finally:
        await Tortoise.close_connections()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000, help="members to seed (default 5000)")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per point (default 15)")
    parser.add_argument("--database-url", help="an empty database; default: a temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite://{Path(directory) / 'bench.sqlite3'}"
        settings = Settings(_env_file=None, database_url=url, graphiql=False)  # type: ignore[call-arg]
        asyncio.run(run(settings, args.members, args.repeat))


if __name__ == "__main__":
    main()
