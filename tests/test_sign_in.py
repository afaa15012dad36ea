"""Staff sign-in with the office's OpenID Connect provider (a real one, tests/oidc_provider.py)
without a browser: the code flow with PKCE, workplaces from groups, refusals with clear
pages, ID tokens that are not to be believed, the re-check, sign-out, and what Redis holds."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from tests.helpers import (
    OFFICE_PATH,
    TIMEOUT,
    LiveServer,
    ServeProcess,
    SettableClock,
    dataset,
    free_port,
)
from tests.jws import new_signing_key
from tests.oidc_provider import USERS, OidcProvider
from tests.staff_sign_in import (
    client,
    query,
    sign_in,
    signing_in_server,
    start_sign_in,
)
from tests.test_staff import csrf_of, log_in
from waitboard.core.sealed import unseal
from waitboard.store import keys

SECRET = "test-secret"  # the tests' WAITBOARD_SECRET_KEY (tests/helpers.py)


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime.now(UTC))


@pytest.fixture
async def srv(
    oidc_provider: OidcProvider, redis_server: Any, redis: Redis, tmp_path: Path, clock: Any
) -> AsyncIterator[LiveServer]:
    async with signing_in_server(oidc_provider, redis_server.url, tmp_path, clock=clock) as s:
        yield s


async def sessions_in(redis: Redis) -> list[dict[str, Any]]:
    found = []
    async for key in redis.scan_iter(match=keys.staff_session("*")):
        found.append(orjson.loads(await redis.get(key)))
    return found


def cookies_set(answer: httpx.Response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in answer.headers.get_list("set-cookie")}


# --- signing in -----------------------------------------------------------------------------


async def test_reception_signs_in_and_works(oidc_provider: OidcProvider, srv: LiveServer) -> None:
    """bob, whose one group maps to Süd's reception, signs in and lands at the reception
    page, which names him and works for him."""
    async with client(srv) as http:
        callback, done = await sign_in(oidc_provider, http, "bob")
        assert callback.status_code == 200, callback.text
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/staff/sued/reception"
        page = await http.get("/staff/sued/reception")
        assert page.status_code == 200
        assert "Angemeldet als Bob Reception" in page.text
        counter = await http.get("/staff/sued/counters/1")
        assert counter.status_code == 403


async def test_advisor_chooses_a_counter_and_operates_only_that_one(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis
) -> None:
    """alice's groups allow both counters of Süd: she chooses counter 2 and may operate it,
    not counter 1; the login page offered the service account."""
    async with client(srv) as http:
        login = await http.get("/staff/login")
        assert "Mit Dienstkonto anmelden" in login.text
        _, done = await sign_in(oidc_provider, http, "alice")
        assert done.headers["location"] == "/staff/workplace"
        choice = await http.get("/staff/workplace")
        assert "Schalter 2" in choice.text and "Schalter 1" in choice.text
        chosen = await http.post(
            "/staff/workplace", data={"csrf": csrf_of(choice.text), "workplace": "1"}
        )
        assert chosen.headers["location"] == "/staff/sued/counters/2"
        page = await http.get("/staff/sued/counters/2")
        assert "Angemeldet als Alice Advisor" in page.text
        opened = await http.post(
            "/staff/sued/counters/2/open", data={"csrf": csrf_of(page.text), "key": "k1"}
        )
        assert opened.status_code == 303
        other = await http.post(
            "/staff/sued/counters/1/open", data={"csrf": csrf_of(page.text), "key": "k2"}
        )
        assert other.status_code == 403
    [session] = await sessions_in(redis)
    assert session["chosen"] == ["counter", "sued", ["2"]]


async def test_a_person_on_a_counter_pc_keeps_its_device(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis
) -> None:
    """On a counter PC logged in with its device token, bob signs in: his session names the
    device too, and signing out leaves the PC logged in as the device."""
    async with client(srv) as http:
        await log_in(http, "counter-sued-1")
        _, done = await sign_in(oidc_provider, http, "bob")
        assert done.headers["location"] == "/staff/sued/reception"
        [session] = await sessions_in(redis)
        assert session["device"] == "counter-sued-1"
        page = await http.get("/staff/sued/reception")
        out = await http.post("/staff/logout", data={"csrf": csrf_of(page.text)})
        assert "Abmelden beim Anmeldedienst" in out.text
        assert await sessions_in(redis) == []
        counter = await http.get("/staff/sued/counters/1")
        assert counter.status_code == 200
        assert "Angemeldet als counter-sued-1" in counter.text


async def test_cookies_flow_lax_session_strict(
    oidc_provider: OidcProvider, srv: LiveServer
) -> None:
    """The flow's cookie is SameSite=Lax, HttpOnly, on /auth only and short-lived; the staff
    session's cookie is SameSite=Strict and HttpOnly; the callback sets no staff cookie."""
    async with client(srv) as http:
        started = await start_sign_in(http)
        flow = cookies_set(started.answer)
        assert set(flow) == {"waitboard_signin"}
        attrs = [a.strip().lower() for a in flow["waitboard_signin"].split(";")]
        assert {"path=/auth", "httponly", "samesite=lax", "max-age=600"} <= set(attrs)
        back = await oidc_provider.sign_in(http, started.authorize_url, "bob")
        callback = await http.get(back)
        assert "waitboard_session" not in cookies_set(callback)
        done = await http.get("/auth/done")
        set_cookies = cookies_set(done)
        session = [a.strip().lower() for a in set_cookies["waitboard_session"].split(";")]
        assert "samesite=strict" in session and "httponly" in session
        assert "samesite=lax" not in set_cookies["waitboard_session"].lower()
        assert "max-age=0" in set_cookies["waitboard_signin"].lower() or (
            "expires=thu, 01 jan 1970" in set_cookies["waitboard_signin"].lower()
        )


async def test_redis_holds_no_token_and_no_secret_in_clear(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis
) -> None:
    """After a sign-in with a refresh token, no value in Redis contains the refresh token,
    the ID token, an access token or the client secret; the session's sealed refresh token
    opens with the server's key only, and is a real one."""
    async with client(srv) as http:
        started = await start_sign_in(http)
        id_token = oidc_provider.sign_id_token(
            {
                "sub": USERS["bob"].sub,
                "nonce": started.nonce,
                "name": USERS["bob"].name,
                "groups": ["waitboard-reception"],
            }
        )
        oidc_provider.hand_out_id_token(id_token)
        back = await oidc_provider.sign_in(http, started.authorize_url, "bob")
        assert (await http.get(back)).status_code == 200
        assert (await http.get("/auth/done")).status_code == 303
    [session] = await sessions_in(redis)
    [digest] = [k.decode() async for k in redis.scan_iter(match=keys.staff_session("*"))]
    d = digest.rsplit(":", 1)[1]
    refresh = unseal(
        SECRET, b"waitboard staff session", session["refresh"], f"{d}/refresh".encode()
    )
    assert refresh is not None
    assert (
        unseal(
            "another-key", b"waitboard staff session", session["refresh"], f"{d}/refresh".encode()
        )
        is None
    )
    async with httpx.AsyncClient() as provider_http:
        answer = await provider_http.post(
            oidc_provider.discovery()["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": refresh.decode()},
            auth=(oidc_provider.client_id, oidc_provider.client_secret),
        )
    assert answer.status_code == 200
    everything = b"\n".join(
        [key + b"=" + (value or b"") for key, value in (await dataset(redis)).items()]
    )
    for secret in (refresh, id_token.encode(), oidc_provider.client_secret.encode()):
        assert secret not in everything
        assert base64.urlsafe_b64encode(secret).rstrip(b"=") not in everything
    assert b"eyJ" not in everything  # no JWT at all (access tokens of some providers are)
    assert session["access"] is None  # with a refresh token, no access token is kept


# --- refusals -------------------------------------------------------------------------------


async def test_a_person_without_a_mapped_group_is_refused(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis
) -> None:
    """carol, in no mapped group, gets a 403 page saying so in German, or English when
    asked; no session, no name kept."""
    async with client(srv) as http:
        callback, _ = await sign_in(oidc_provider, http, "carol")
        assert callback.status_code == 403
        assert "Kein Zugang zu waitboard" in callback.text
        assert "keiner Gruppe" in callback.text
        assert "waitboard_session" not in cookies_set(callback)
        http.headers["Accept-Language"] = "en"
        english, _ = await sign_in(oidc_provider, http, "carol")
        assert english.status_code == 403
    assert await sessions_in(redis) == []
    assert await redis.hlen(keys.staff_directory()) == 0


async def test_errors_at_the_provider_get_clear_pages(
    oidc_provider: OidcProvider, srv: LiveServer
) -> None:
    """access_denied from the provider, a state that is not this browser's sign-in, a
    callback without a flow and one replayed: each a page saying what happened, never a
    session."""
    async with client(srv) as http:
        started = await start_sign_in(http)
        state = query(started.authorize_url)["state"]
        denied = await http.get(f"/auth/callback?error=access_denied&state={state}")
        assert denied.status_code == 403
        assert "Anmeldung abgebrochen" in denied.text

        started = await start_sign_in(http)
        wrong = await http.get("/auth/callback?code=abc&state=not-the-state")
        assert wrong.status_code == 400
        assert "Anmeldung nicht bestätigt" in wrong.text

        started = await start_sign_in(http)
        back = await oidc_provider.sign_in(http, started.authorize_url, "bob")
        assert (await http.get(back)).status_code == 200
        again = await http.get(back)
        assert again.status_code == 400
        assert "Anmeldung abgelaufen" in again.text
    async with client(srv) as stranger:
        flowless = await stranger.get(back)
        assert flowless.status_code == 400
        assert "Anmeldung abgelaufen" in flowless.text


@pytest.mark.parametrize(
    ("case", "claims", "key"),
    [
        ("forged", {}, "other"),
        ("expired", {"exp": -3600, "iat": -7200}, None),
        ("audience", {"aud": "another-client"}, None),
        ("nonce", {"nonce": "not-this-sign-in"}, None),
    ],
)
async def test_id_tokens_not_to_be_believed_are_refused_at_the_callback(
    oidc_provider: OidcProvider,
    srv: LiveServer,
    redis: Redis,
    case: str,
    claims: dict[str, Any],
    key: str | None,
) -> None:
    """An ID token signed with another key (under the provider's key id), expired, for
    another client or for another sign-in's nonce, handed out by the provider's token
    endpoint, is refused with a 401 page; no session."""
    async with client(srv) as http:
        started = await start_sign_in(http)
        iat = int(oidc_provider.now().timestamp())
        given = {
            "sub": USERS["bob"].sub,
            "nonce": started.nonce,
            "groups": ["waitboard-reception"],
            **claims,
        }
        for field in ("exp", "iat"):
            if field in given:
                given[field] = iat + given[field]
        signing = new_signing_key(kid=oidc_provider.jwk["kid"]) if key else None
        oidc_provider.hand_out_id_token(oidc_provider.sign_id_token(given, key=signing))
        back = await oidc_provider.sign_in(http, started.authorize_url, "bob")
        callback = await http.get(back)
        assert callback.status_code == 401, (case, callback.text[:300])
        assert "Anmeldung nicht bestätigt" in callback.text
    assert await sessions_in(redis) == []


# --- the re-check, signing out ----------------------------------------------------------------


async def test_removed_group_loses_access_at_the_next_request_after_the_interval(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis, clock: SettableClock
) -> None:
    """bob's group removed at the provider: he keeps working until the re-check interval
    (5 minutes) has passed, then his next request ends the session with a clear page, and
    the one after leads to the login."""
    async with client(srv) as http:
        await sign_in(oidc_provider, http, "bob")
        oidc_provider.set_groups("bob", [])
        assert (await http.get("/staff/sued/reception")).status_code == 200
        clock.now += timedelta(minutes=4, seconds=59)
        assert (await http.get("/staff/sued/reception")).status_code == 200
        clock.now += timedelta(seconds=2)
        ended = await http.get("/staff/sued/reception")
        assert ended.status_code == 403
        assert "Zugang beendet" in ended.text
        assert await sessions_in(redis) == []
        after = await http.get("/staff/sued/reception")
        assert after.status_code == 303
        assert after.headers["location"].startswith("/staff/login")


async def test_unchanged_groups_pass_the_recheck_and_a_changed_one_moves_the_workplace(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis, clock: SettableClock
) -> None:
    """A re-check that finds the same groups keeps the session (next one 5 minutes on);
    alice moved from advisors to reception loses her counter and works at the reception."""
    async with client(srv) as http:
        await sign_in(oidc_provider, http, "alice")
        choice = await http.get("/staff/workplace")
        await http.post("/staff/workplace", data={"csrf": csrf_of(choice.text), "workplace": "0"})
        clock.now += timedelta(minutes=6)
        assert (await http.get("/staff/sued/counters/1")).status_code == 200
        oidc_provider.set_groups("alice", ["waitboard-reception"])
        clock.now += timedelta(minutes=6)
        moved = await http.get("/staff/sued/counters/1")
        assert moved.status_code == 403
        assert (await http.get("/staff/sued/reception")).status_code == 200
    [session] = await sessions_in(redis)
    assert session["chosen"] == ["reception", "sued", []]


async def test_sign_out_ends_the_session_here_and_at_the_provider(
    oidc_provider: OidcProvider, srv: LiveServer, redis: Redis
) -> None:
    """Signing out ends the session in Redis (a copy of the cookie is worthless) and sends
    the browser on to the provider's end_session_endpoint with waitboard's client id - never
    the ID token in the address, which Redis no longer holds - and the signed-out page as
    the way back (by a page without Referer: a form's redirect to another site would break
    form-action 'self'); the provider takes it and asks to confirm."""
    async with client(srv) as http:
        await sign_in(oidc_provider, http, "bob")
        [session] = await sessions_in(redis)
        assert "id_token" not in session
        page = await http.get("/staff/sued/reception")
        copy = {c.name: c.value for c in http.cookies.jar if c.name == "waitboard_session"}
        out = await http.post("/staff/logout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 200
        found = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', out.text)
        assert found is not None
        there = html.unescape(found.group(1))
        assert there.startswith(oidc_provider.discovery()["end_session_endpoint"] + "?")
        params = query(there)
        assert params["post_logout_redirect_uri"] == srv.url + "/staff/signed-out"
        assert params["client_id"] == oidc_provider.client_id
        assert "id_token_hint" not in params and "eyJ" not in there
        assert out.headers["referrer-policy"] == "no-referrer"
        assert await sessions_in(redis) == []
        confirm = await http.get(there)
        assert confirm.status_code == 200 and "Yes, sign me out" in confirm.text
    async with client(srv) as replay:
        replay.cookies.update(copy)
        answer = await replay.get("/staff/sued/reception")
        assert answer.status_code == 303


async def test_without_sign_in_the_login_offers_only_the_device_token(
    http: httpx.AsyncClient,
) -> None:
    """An office without [sign_in] (the demo, `make run`) logs in with device tokens as
    before: no service-account button, and /staff/sign-in is not there."""
    page = await http.get("/staff/login", headers={"Accept": "text/html"})
    assert "Gerätetoken" in page.text
    assert "Mit Dienstkonto anmelden" not in page.text
    assert (await http.get("/staff/sign-in", headers={"Accept": "text/html"})).status_code == 404


async def test_two_processes_share_sign_ins_and_sign_outs(
    oidc_provider: OidcProvider, redis_server: Any, redis: Redis, tmp_path: Path
) -> None:
    """Two `waitboard serve` processes on one Redis behind one address: a sign-in started on
    one ends on the other, the session works on both, and signing out on one ends it on
    the other at once."""
    secret = tmp_path / "oidc-client-secret"
    secret.write_text(oidc_provider.client_secret)
    config = tmp_path / "office.toml"
    config.write_text(
        OFFICE_PATH.read_text(encoding="utf-8")
        + f"""
[sign_in]
issuer = "{oidc_provider.issuer}"
client_id = "{oidc_provider.client_id}"
client_secret_file = "{secret}"

[[sign_in.groups]]
group = "waitboard-reception"
role = "reception"
locations = ["sued"]
""",
        encoding="utf-8",
    )
    ports = free_port(), free_port()
    public = f"http://127.0.0.1:{ports[0]}"
    oidc_provider.set_client(
        redirect_uris=[public + "/auth/callback"],
        post_logout_redirect_uris=[public + "/staff/signed-out"],
    )
    env = {"WAITBOARD_REDIS_URL": redis_server.url, "WAITBOARD_PUBLIC_URL": public}
    one, other = (
        ServeProcess(tmp_path, env, ("--config", str(config)), port=port) for port in ports
    )
    one.start()
    try:
        other.start()
        async with httpx.AsyncClient(timeout=TIMEOUT, headers={"Accept": "text/html"}) as http:
            started = await http.get(one.url + "/staff/sign-in")
            back = await oidc_provider.sign_in(http, started.headers["location"], "bob")
            assert back.startswith(public + "/auth/callback?")
            callback = await http.get(other.url + back.removeprefix(public))
            assert callback.status_code == 200, callback.text[:500]
            done = await http.get(other.url + "/auth/done")
            assert done.headers["location"] == "/staff/sued/reception"
            for server in (one, other):
                page = await http.get(server.url + "/staff/sued/reception")
                assert "Angemeldet als Bob Reception" in page.text
            out = await http.post(other.url + "/staff/logout", data={"csrf": csrf_of(page.text)})
            assert "Abmelden beim Anmeldedienst" in out.text
            refused = await http.get(one.url + "/staff/sued/reception")
            assert refused.status_code == 303
    finally:
        for server in (other, one):
            if server.proc is not None:
                server.stop()


async def test_without_a_refresh_token_the_recheck_asks_userinfo(
    oidc_provider: OidcProvider, redis_server: Any, redis: Redis, tmp_path: Path, clock: Any
) -> None:
    """A provider asked for no refresh token (no offline_access): the session keeps the
    access token, sealed - never in clear in Redis - and the re-check asks userinfo with
    it, which ends bob's session once his group is gone."""
    async with (
        signing_in_server(
            oidc_provider,
            redis_server.url,
            tmp_path,
            clock=clock,
            scopes=["openid", "profile", "groups"],
            prompt=None,
        ) as srv,
        client(srv) as http,
    ):
        await sign_in(oidc_provider, http, "bob")
        [session] = await sessions_in(redis)
        assert session["refresh"] is None
        [key] = [k.decode() async for k in redis.scan_iter(match=keys.staff_session("*"))]
        d = key.rsplit(":", 1)[1]
        access = unseal(
            SECRET, b"waitboard staff session", session["access"], f"{d}/access".encode()
        )
        assert access is not None
        everything = b"\n".join([v or b"" for v in (await dataset(redis)).values()])
        assert access not in everything
        clock.now += timedelta(minutes=6)
        assert (await http.get("/staff/sued/reception")).status_code == 200
        oidc_provider.set_groups("bob", [])
        clock.now += timedelta(minutes=6)
        ended = await http.get("/staff/sued/reception")
        assert ended.status_code == 403
        assert "Zugang beendet" in ended.text


async def test_a_provider_that_does_not_answer_gets_a_clear_page(
    oidc_provider: OidcProvider, redis_server: Any, redis: Redis, tmp_path: Path
) -> None:
    """With the provider unreachable, starting a sign-in shows a 502 page that says so and
    offers to try again, never an error trace."""
    dead = f"http://127.0.0.1:{free_port()}"
    async with (
        signing_in_server(oidc_provider, redis_server.url, tmp_path, issuer=dead) as srv,
        client(srv) as http,
    ):
        answer = await http.get("/staff/sign-in")
        assert answer.status_code == 502
        assert "Anmeldedienst nicht erreichbar" in answer.text
        assert "Noch einmal versuchen" in answer.text
