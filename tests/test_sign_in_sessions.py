"""A signed-in person's session in its corners (a real provider, tests/oidc_provider.py):
signing out whatever the session's state, what the audit records of it, sessions changed by
two requests at once, and a person deleted from the staff directory."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from tests.helpers import LiveServer, SettableClock, dataset
from tests.oidc_provider import USERS, OidcProvider
from tests.staff_sign_in import client, sign_in, signing_in_server, start_sign_in
from tests.test_sign_in import sessions_in
from tests.test_staff import csrf_of, log_in
from waitboard.context import AppContext
from waitboard.services.oidc import Tokens
from waitboard.services.person_sessions import digest
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


# --- two requests at once -------------------------------------------------------------------


def person_sid(http: httpx.AsyncClient) -> str:
    """The person's session id from the staff cookie (signed, not encrypted: Starlette's)."""
    cookie = http.cookies["waitboard_session"].strip('"')
    data: dict[str, Any] = json.loads(base64.b64decode(cookie.split(".")[0] + "=="))
    return str(data["person"])


async def test_a_stale_copy_of_a_session_never_overwrites_a_newer_one(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis
) -> None:
    """A session read before another request changed it (alice chose counter 2 meanwhile)
    is not written back: the write is refused and her choice stays."""
    ctx: AppContext = srv.app.state.ctx
    async with client(srv) as http:
        await sign_in(oidc_provider, http, "alice")
        d = digest(person_sid(http))
        stale = await ctx.store.staff_session(d)
        assert stale is not None
        choice = await http.get("/staff/workplace")
        await http.post("/staff/workplace", data={"csrf": csrf_of(choice.text), "workplace": "1"})
        stale["options"] = stale["options"] + [["admin", None, []]]
        assert await ctx.store.update_staff_session(d, stale) is None
    [session] = await sessions_in(redis)
    assert session["chosen"] == ["counter", "sued", ["2"]]
    assert ["admin", None, []] not in session["options"]


async def test_two_requests_due_for_the_recheck_ask_the_provider_once(
    oidc_provider: OidcProvider,
    srv: LiveServer,
    redis: Redis,
    clock: SettableClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two requests read bob's session when its re-check is due; one re-checks while the
    other is on its way to the re-check's claim: the provider is asked once (a rotating
    refresh token used twice would end his sign-in), and both requests go on."""
    ctx: AppContext = srv.app.state.ctx
    service = ctx.sign_in
    assert service is not None
    async with client(srv) as http:
        await sign_in(oidc_provider, http, "bob")
        sid = person_sid(http)
    clock.now += timedelta(minutes=6)
    refreshes = []
    refresh = service.client.refresh

    async def counted(refresh_token: str, now_s: float) -> Tokens:
        refreshes.append(now_s)
        return await refresh(refresh_token, now_s)

    claim = ctx.store.claim_recheck

    async def after_another_request(d: str, hold_ms: int) -> bool:
        monkeypatch.setattr(ctx.store, "claim_recheck", claim)
        assert await service.session(sid) is not None  # the other request, all the way
        return await claim(d, hold_ms)

    monkeypatch.setattr(service.client, "refresh", counted)
    monkeypatch.setattr(ctx.store, "claim_recheck", after_another_request)
    found = await service.session(sid)
    assert found is not None and found.chosen is not None
    assert len(refreshes) == 1
    [session] = await sessions_in(redis)
    assert session["recheck_at"] > int(clock.now.timestamp() * 1000)


# --- the callback ---------------------------------------------------------------------------


async def test_userinfo_naming_another_person_at_the_callback_gets_a_clear_page(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis
) -> None:
    """An ID token without groups sends the callback to userinfo; userinfo naming another
    subject than the ID token gets the page "Anmeldedienst nicht erreichbar" (never a
    server error), and no session."""
    async with client(srv) as http:
        started = await start_sign_in(http)
        oidc_provider.hand_out_id_token(
            oidc_provider.sign_id_token({"sub": USERS["alice"].sub, "nonce": started.nonce})
        )
        back = await oidc_provider.sign_in(http, started.authorize_url, "bob")
        callback = await http.get(back)
        assert callback.status_code == 502, callback.text[:300]
        assert "Anmeldedienst nicht erreichbar" in callback.text
    assert await sessions_in(redis) == []


# --- a person deleted from the staff directory ----------------------------------------------


async def test_a_deleted_person_is_named_by_nobody_and_signed_out(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis
) -> None:
    """alice signs in and is deleted from the staff directory: her session ends at once,
    Redis keeps no way from her subject at the provider to her old id (and never an unkeyed
    digest of it, which anyone knowing the subject could compute), and her next sign-in
    gets a new id: her name never comes back on the old id's records."""
    ctx: AppContext = srv.app.state.ctx
    unkeyed = hashlib.sha256(f"{oidc_provider.issuer}\n{USERS['alice'].sub}".encode()).hexdigest()
    async with client(srv) as http:
        await sign_in(oidc_provider, http, "alice")
        [session] = await sessions_in(redis)
        old = session["person"]
        everything = b"\n".join(k + b"=" + (v or b"") for k, v in (await dataset(redis)).items())
        assert unkeyed.encode() not in everything
        assert await ctx.store.forget_person(old) is True
        assert await sessions_in(redis) == []
        after = await http.get("/staff/workplace")
        assert after.headers["location"].startswith("/staff/login")
        await sign_in(oidc_provider, http, "alice")
    [again] = await sessions_in(redis)
    assert again["person"] != old
    assert await ctx.store.person_names([old, again["person"]]) == {
        again["person"]: USERS["alice"].name
    }
    assert old.encode() not in b"".join(await redis.hvals(keys.staff_subjects()))


# --- the records ----------------------------------------------------------------------------


async def test_sign_in_names_its_device_and_an_end_at_the_recheck_is_a_sign_out(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis, clock: SettableClock
) -> None:
    """bob signs in on a counter PC: the sign-in's record names him and the PC; his group
    removed, the re-check that ends his session is recorded as his sign-out, on that PC."""
    async with client(srv) as http:
        await log_in(http, "counter-sued-1")
        await sign_in(oidc_provider, http, "bob")
        [session] = await sessions_in(redis)
        oidc_provider.set_groups("bob", [])
        clock.now += timedelta(minutes=6)
        assert (await http.get("/staff/sued/reception")).status_code == 403
    records = [
        (r["action"], r["person"], r["device"])
        for r in await staff_records(redis)
        if r["person"] == session["person"]
    ]
    assert records == [
        ("sign_in", session["person"], "counter-sued-1"),
        ("sign_out", session["person"], "counter-sued-1"),
    ]


async def test_a_workplace_removed_from_the_configuration_is_no_choice(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis
) -> None:
    """A session that still names a location and a counter removed from the configuration
    since the sign-in: the choice of workplace shows the ones that exist (never a server
    error), and a chosen one that is gone asks for a choice again."""
    async with client(srv) as http:
        await sign_in(oidc_provider, http, "alice")
        [key] = [k async for k in redis.scan_iter(match=keys.staff_session("*"))]
        session = orjson.loads(await redis.get(key))
        gone = ["counter", "gone", ["9"]]
        session["options"].append(gone)
        session["chosen"] = gone
        await redis.set(key, orjson.dumps(session), keepttl=True)
        page = await http.get("/staff/sued/counters/1")
        assert page.headers["location"].startswith("/staff/workplace")
        choice = await http.get("/staff/workplace")
        assert choice.status_code == 200
        assert "Schalter 1" in choice.text and "Schalter 2" in choice.text
        assert choice.text.count('name="workplace"') == 2


async def test_a_new_sign_in_in_the_same_browser_ends_and_records_the_one_before(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis
) -> None:
    """bob signs in, then alice signs in in the same browser (bob signed out at the provider
    only): bob's session ends and is recorded as his sign-out; alice's is the only one left."""
    async with client(srv) as http:
        await sign_in(oidc_provider, http, "bob")
        [bob] = await sessions_in(redis)
        for cookie in list(http.cookies.jar):
            if not cookie.name.startswith("waitboard_"):  # (the provider's session)
                http.cookies.jar.clear(cookie.domain, cookie.path, cookie.name)
        await sign_in(oidc_provider, http, "alice")
        [alice] = await sessions_in(redis)
    assert alice["person"] != bob["person"]
    records = [(r["action"], r["person"]) for r in await staff_records(redis)]
    assert records[-2:] == [("sign_out", bob["person"]), ("sign_in", alice["person"])]
