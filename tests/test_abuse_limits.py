"""Rate limits of signing in, accepting, inviting and resending, and the cap on pending invitations.

Each test runs apps with low limits; the counters live in the database, so two app instances
(two server processes in production) share them. Every test client comes from 127.0.0.1.
"""

from __future__ import annotations

from typing import Any

import httpx

from console_users.settings import RateLimit, Settings
from tests.conftest import Team
from tests.hardening import ClientFactory, client_with, codes, post_json  # noqa: F401
from tests.support import ACCEPT, INVITE, LOGIN, PASSWORD, RESEND

WRONG_PASSWORD = "not the password at all"
ONE_PER_HOUR = RateLimit(1, 3600)
THREE_PER_HOUR = RateLimit(3, 3600)


async def login(http: httpx.AsyncClient, email: str, password: str = WRONG_PASSWORD) -> dict[str, Any]:
    return (await post_json(http, LOGIN, {"email": email, "password": password})).json()  # type: ignore[no-any-return]


def retry_after(body: dict[str, Any]) -> int:
    return int(body["errors"][0]["extensions"]["retryAfter"])


# Signing in


async def test_login_limited_per_account_across_instances(team: Team, client_with: ClientFactory) -> None:
    first, second = client_with(rate_limit_login_per_account=THREE_PER_HOUR), client_with(rate_limit_login_per_account=THREE_PER_HOUR)

    outcomes = [await login(http, "rita@acme.example") for http in (first, second, first)]
    refused = await login(second, "rita@acme.example", PASSWORD)

    assert [body["data"]["login"]["errors"][0]["code"] for body in outcomes] == ["INVALID_CREDENTIALS"] * 3
    assert refused["data"] is None
    assert codes(refused) == ["RATE_LIMITED"]
    assert 0 < retry_after(refused) <= 3600


async def test_login_limit_ignores_address_spelling(team: Team, client_with: ClientFactory) -> None:
    http = client_with(rate_limit_login_per_account=THREE_PER_HOUR)

    for spelling in ("rita@acme.example", "RITA@acme.example", " Rita@Acme.Example "):
        await login(http, spelling)
    refused = await login(http, "rita@ACME.example", PASSWORD)

    assert codes(refused) == ["RATE_LIMITED"]


async def test_login_limit_spares_other_accounts(team: Team, client_with: ClientFactory) -> None:
    http = client_with(rate_limit_login_per_account=THREE_PER_HOUR)

    for _ in range(4):
        await login(http, "rita@acme.example")
    other = await login(http, "adam@acme.example", PASSWORD)

    assert other["data"]["login"]["errors"] == []


async def test_login_limited_per_address(team: Team, client_with: ClientFactory) -> None:
    http = client_with(rate_limit_login_per_address=THREE_PER_HOUR)

    for address in ("a@acme.example", "b@acme.example", "c@acme.example"):
        await login(http, address)
    refused = await login(http, "adam@acme.example", PASSWORD)

    assert codes(refused) == ["RATE_LIMITED"]


async def test_aliased_logins_count_one_by_one(team: Team, client_with: ClientFactory) -> None:
    http = client_with(rate_limit_login_per_account=THREE_PER_HOUR)
    attempts = " ".join(
        f'l{n}: login(email: "rita@acme.example", password: "{WRONG_PASSWORD}{n}") {{ errors {{ code }} }}' for n in range(5)
    )

    packed = (await post_json(http, f"mutation {{ {attempts} }}")).json()
    afterwards = await login(http, "rita@acme.example", PASSWORD)

    # Mutations run one after another; the fourth is refused, and its error nulls the whole result.
    assert codes(packed) == ["RATE_LIMITED"]
    assert packed["errors"][0]["path"] == ["l3"]
    assert codes(afterwards) == ["RATE_LIMITED"]


# Accepting invitations


async def test_acceptance_limited_per_address(team: Team, client_with: ClientFactory) -> None:
    http = client_with(rate_limit_accept_per_address=RateLimit(2, 900))
    guess = {"input": {"token": "guessed-token", "name": "Mallory", "password": PASSWORD}}

    outcomes = [(await post_json(http, ACCEPT, guess)).json() for _ in range(3)]

    assert outcomes[0]["data"]["acceptInvitation"]["errors"][0]["code"] == "INVITATION_INVALID"
    assert outcomes[1]["data"]["acceptInvitation"]["errors"][0]["code"] == "INVITATION_INVALID"
    assert codes(outcomes[2]) == ["RATE_LIMITED"]
    assert 0 < retry_after(outcomes[2]) <= 900


# Inviting and resending


async def invite(http: httpx.AsyncClient, address: str) -> dict[str, Any]:
    return (await post_json(http, INVITE, {"input": {"email": address, "role": "READ_ONLY"}})).json()  # type: ignore[no-any-return]


async def test_invitations_limited_per_organization(team: Team, client_with: ClientFactory) -> None:
    # The team fixture invited two people already, so two more fit in this hour's allowance of four.
    owner = client_with(cookies=team.owner.http.cookies, rate_limit_invites_per_organization=RateLimit(4, 3600))
    admin = client_with(cookies=team.admin.http.cookies, rate_limit_invites_per_organization=RateLimit(4, 3600))

    first = await invite(owner, "hire1@acme.example")
    second = await invite(admin, "hire2@acme.example")
    third = await invite(owner, "hire3@acme.example")
    users = (await team.owner.data("{ users { totalCount } }"))["users"]

    assert first["data"]["inviteUser"]["errors"] == []
    assert second["data"]["inviteUser"]["errors"] == []
    assert codes(third) == ["RATE_LIMITED"]
    assert 0 < retry_after(third) <= 3600
    assert users["totalCount"] == 5


async def test_pending_invitations_capped(team: Team, client_with: ClientFactory) -> None:
    owner = client_with(cookies=team.owner.http.cookies, max_pending_invitations=2)

    invited = [await invite(owner, f"hire{n}@acme.example") for n in range(2)]
    refused = await invite(owner, "hire2@acme.example")

    assert [body["data"]["inviteUser"]["errors"] for body in invited] == [[], []]
    assert codes(refused) == ["RATE_LIMITED"]
    # The oldest pending invitation expires after INVITATION_TTL_SECONDS (7 days by default).
    assert 7 * 24 * 3600 - 60 < retry_after(refused) <= 7 * 24 * 3600


async def test_revoking_frees_pending_slot(team: Team, client_with: ClientFactory) -> None:
    owner = client_with(cookies=team.owner.http.cookies, max_pending_invitations=1)
    first = await invite(owner, "hire1@acme.example")
    revoked = (await post_json(owner, "mutation($id: ID!) { removeUser(userId: $id) { errors { code } } }",
                               {"id": first["data"]["inviteUser"]["user"]["id"]})).json()

    second = await invite(owner, "hire2@acme.example")

    assert revoked["data"]["removeUser"]["errors"] == []
    assert second["data"]["inviteUser"]["errors"] == []


async def test_resends_limited_per_user(team: Team, client_with: ClientFactory) -> None:
    owner = client_with(cookies=team.owner.http.cookies, rate_limit_resends_per_user=RateLimit(2, 3600))
    ann = (await invite(owner, "ann@acme.example"))["data"]["inviteUser"]["user"]["id"]
    bob = (await invite(owner, "bob@acme.example"))["data"]["inviteUser"]["user"]["id"]

    outcomes = [(await post_json(owner, RESEND, {"id": ann})).json() for _ in range(3)]
    other = (await post_json(owner, RESEND, {"id": bob})).json()

    assert outcomes[0]["data"]["resendInvitation"]["errors"] == []
    assert outcomes[1]["data"]["resendInvitation"]["errors"] == []
    assert codes(outcomes[2]) == ["RATE_LIMITED"]
    assert other["data"]["resendInvitation"]["errors"] == []


# Defaults


def test_default_limits_match_readme() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]

    assert defaults.rate_limit_login_per_account == RateLimit(10, 900)
    assert defaults.rate_limit_login_per_address == RateLimit(50, 900)
    assert defaults.rate_limit_accept_per_address == RateLimit(20, 900)
    assert defaults.rate_limit_invites_per_organization == RateLimit(100, 3600)
    assert defaults.rate_limit_resends_per_user == RateLimit(5, 3600)
    assert defaults.max_pending_invitations == 500


async def test_default_account_limit_applies_in_tests(team: Team) -> None:
    # The test settings raise only the per-address limits; the per-account default of 10 holds.
    outcomes = [await team.anonymous.post(LOGIN, {"email": "rita@acme.example", "password": WRONG_PASSWORD}) for _ in range(11)]

    assert codes(outcomes[9]) == []
    assert codes(outcomes[10]) == ["RATE_LIMITED"]


async def test_password_checks_share_sign_in_budget(team: Team) -> None:
    # A stolen session must not allow more password guesses than the sign-in form does.
    change = (
        "mutation($current: String!) { changePassword(currentPassword: $current, newPassword: \"another long passphrase\")"
        " { errors { code } } }"
    )
    transfer = "mutation($id: ID!, $p: String!) { transferOwnership(userId: $id, password: $p) { errors { code } } }"

    wrong = [await team.owner.post(change, {"current": WRONG_PASSWORD}) for _ in range(9)]
    last_allowed = await team.owner.post(transfer, {"id": team.admin_id, "p": WRONG_PASSWORD})
    refused = await team.owner.post(change, {"current": PASSWORD})

    assert all(body["data"]["changePassword"]["errors"][0]["code"] == "INVALID_CREDENTIALS" for body in wrong)
    assert last_allowed["data"]["transferOwnership"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert codes(refused) == ["RATE_LIMITED"]
