"""A signed-in person's session in its corners (a real provider, tests/oidc_provider.py):
signing out whatever the session's state, what the audit records of it, sessions changed by
two requests at once, and a person deleted from the staff directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.helpers import LiveServer, SettableClock
from tests.oidc_provider import OidcProvider
from tests.staff_sign_in import client, sign_in, signing_in_server
from tests.test_sign_in import sessions_in
from tests.test_staff import csrf_of
from waitboard.store import keys


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime.now(UTC))


@pytest.fixture
async def srv(
    oidc_provider: OidcProvider, redis_server: Any, redis: Redis, tmp_path: Path, clock: Any
) -> AsyncIterator[LiveServer]:
    async with signing_in_server(oidc_provider, redis_server.url, tmp_path, clock=clock) as s:
        yield s


async def staff_records(redis: Redis) -> list[dict[str, str]]:
    """The office's audit of sign-ins and sign-outs, oldest first."""
    found = await redis.xrange(keys.audit("_staff"))
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in found]


# --- signing out ----------------------------------------------------------------------------


async def test_a_person_who_has_not_chosen_a_workplace_can_sign_out(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis
) -> None:
    """alice, whose groups allow two counters, signs out from the choice of workplace before
    choosing: the session ends (not a loop back to the choice) and the sign-out is recorded
    under her pseudonym."""
    async with client(srv) as http:
        await sign_in(oidc_provider, http, "alice")
        choice = await http.get("/staff/workplace")
        assert "/staff/logout" in choice.text
        [session] = await sessions_in(redis)
        out = await http.post("/staff/logout", data={"csrf": csrf_of(choice.text)})
        assert out.status_code == 200, out.headers
        assert "Abmelden beim Anmeldedienst" in out.text
        assert await sessions_in(redis) == []
        after = await http.get("/staff/workplace")
        assert after.headers["location"].startswith("/staff/login")
    records = [(r["action"], r["person"]) for r in await staff_records(redis)]
    assert ("sign_out", session["person"]) in records


async def test_the_choice_of_workplace_offers_sign_out_to_a_person_without_a_name(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis
) -> None:
    """A person whose name is not in the staff directory (the provider gave none, or it was
    deleted) still finds "Abmelden" on the choice of workplace."""
    async with client(srv) as http:
        await sign_in(oidc_provider, http, "alice")
        await redis.delete(keys.staff_directory())
        choice = await http.get("/staff/workplace")
        assert "Angemeldet mit Dienstkonto" in choice.text
        assert 'action="/staff/logout"' in choice.text
