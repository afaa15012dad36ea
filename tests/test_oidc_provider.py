"""The test OpenID provider (tests/oidc_provider.py) behaves as a real one: discovery, JWKS,
the authorization code flow with PKCE in a real browser, tokens that follow the clock the
test sets and the groups it changes, RP-initiated logout, and ID tokens the test signs."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from tests.helpers import TIMEOUT, eventually, free_port
from tests.jws import BadToken, new_signing_key, pkce_pair, public_jwk, verify_jwt
from tests.oidc_provider import USERS, OidcProvider

#: A redirect_uri no request reaches: the tests without a browser stop where they are sent.
UNREACHED = "http://127.0.0.1:9/auth/callback"
#: A Monday morning in Berlin, for the provider's clock.
MONDAY = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


@dataclass
class Authorization:
    """One authorization request: its parameters and the secrets only the client knows."""

    url: str
    redirect_uri: str
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    verifier: str = ""


def authorization(
    provider: OidcProvider,
    redirect_uri: str = UNREACHED,
    scope: str = "openid profile email groups",
    **extra: str,
) -> Authorization:
    verifier, challenge = pkce_pair()
    auth = Authorization(url="", redirect_uri=redirect_uri, verifier=verifier)
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": auth.state,
        "nonce": auth.nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    auth.url = provider.discovery()["authorization_endpoint"] + "?" + urlencode(params)
    return auth


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def token_request(provider: OidcProvider, **form: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        return await http.post(
            provider.discovery()["token_endpoint"],
            data=form,
            auth=(provider.client_id, provider.client_secret),
        )


async def exchange(provider: OidcProvider, auth: Authorization, code: str) -> dict[str, Any]:
    answer = await token_request(
        provider,
        grant_type="authorization_code",
        code=code,
        redirect_uri=auth.redirect_uri,
        code_verifier=auth.verifier,
    )
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


async def refresh(provider: OidcProvider, refresh_token: str) -> dict[str, Any]:
    answer = await token_request(provider, grant_type="refresh_token", refresh_token=refresh_token)
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


async def sign_in(
    provider: OidcProvider, http: httpx.AsyncClient, user: str, **extra: str
) -> tuple[Authorization, str]:
    """Signs ``user`` in without a browser; the authorization and its code."""
    auth = authorization(provider, **extra)
    back = query(await provider.sign_in(http, auth.url, user))
    assert back["state"] == auth.state
    return auth, back["code"]


def id_token_claims(provider: OidcProvider, tokens: dict[str, Any]) -> dict[str, Any]:
    _, claims = verify_jwt(tokens["id_token"], provider.jwks())
    return claims


OFFLINE = {"scope": "openid profile email groups offline_access", "prompt": "consent"}


# --- a relying party's callback, served on 127.0.0.1 -----------------------------------------


@dataclass
class Callback:
    """What arrived at the relying party: each request's path, query and headers (but the
    browser's own asks for a favicon)."""

    url: str
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["path"] != "/favicon.ico":
            self.requests.append(
                (scope["path"], query("?" + scope["query_string"].decode()), headers)
            )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": b"<!DOCTYPE html><title>back</title>"})


@contextlib.asynccontextmanager
async def callback_server() -> AsyncIterator[Callback]:
    port = free_port()
    app = Callback(f"http://127.0.0.1:{port}")
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done(), "the callback server to start")
    try:
        yield app
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, TIMEOUT)


# --- discovery ------------------------------------------------------------------------------


def test_discovery_and_jwks(oidc_provider: OidcProvider) -> None:
    """The discovery document names the issuer, code flow with S256 PKCE, the groups scope
    and claim, and an end_session_endpoint; the JWKS holds the public half of the key."""
    doc = oidc_provider.discovery()
    assert doc["issuer"] == oidc_provider.issuer
    assert urlsplit(oidc_provider.issuer).hostname == "localhost"
    for endpoint in ("authorization", "token", "userinfo", "end_session"):
        assert doc[f"{endpoint}_endpoint"].startswith(oidc_provider.issuer + "/")
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "profile", "email", "groups", "offline_access"} <= set(
        doc["scopes_supported"]
    )
    assert "groups" in doc["claims_supported"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert oidc_provider.jwks() == {"keys": [{"use": "sig", **public_jwk(oidc_provider.jwk)}]}


async def test_pkce_is_required(oidc_provider: OidcProvider) -> None:
    """An authorization request without a code_challenge is sent back with invalid_request."""
    oidc_provider.set_client(redirect_uris=[UNREACHED])
    auth = authorization(oidc_provider)
    without = "&".join(p for p in auth.url.split("&") if not p.startswith("code_challenge"))
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        back = query(await oidc_provider.sign_in(http, without, "alice"))
    assert back["error"] == "invalid_request"
    assert "PKCE" in back["error_description"]


# --- the code flow in a browser -------------------------------------------------------------


@pytest.mark.browser
async def test_code_flow_in_a_browser(oidc_provider: OidcProvider, browser: Any) -> None:
    """Chromium signs alice in on the login form (after a wrong password), comes back to the
    relying party across sites with a code; the code, the client secret and the
    code_verifier give an ID token that verifies against the JWKS with the nonce, audience,
    issuer, expiry and groups; RP-initiated logout ends the provider's session."""
    from playwright.async_api import expect

    alice = USERS["alice"]
    async with callback_server() as rp:
        oidc_provider.set_client(
            redirect_uris=[rp.url + "/auth/callback"], post_logout_redirect_uris=[rp.url + "/"]
        )
        auth = authorization(oidc_provider, redirect_uri=rp.url + "/auth/callback")
        page = await browser.new_page()
        await page.goto(auth.url)
        await page.get_by_label("Username").fill("alice")
        await page.get_by_label("Password").fill("not-her-password")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
        await page.get_by_label("Password").fill(alice.password)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(rp.url + "/auth/callback?**", timeout=TIMEOUT * 1000)

        [(path, back, headers)] = rp.requests
        assert path == "/auth/callback"
        assert back["state"] == auth.state
        assert back["iss"] == oidc_provider.issuer
        assert headers["sec-fetch-site"] == "cross-site"

        tokens = await exchange(oidc_provider, auth, back["code"])
        header, claims = verify_jwt(tokens["id_token"], oidc_provider.jwks())
        assert header["kid"] == oidc_provider.jwk["kid"]
        assert claims["iss"] == oidc_provider.issuer
        assert claims["aud"] == oidc_provider.client_id
        assert claims["nonce"] == auth.nonce
        assert claims["iat"] < claims["exp"]
        assert claims["sub"] == alice.sub
        assert (claims["name"], claims["email"]) == (alice.name, alice.email)
        assert claims["groups"] == list(alice.groups)
        assert "refresh_token" not in tokens

        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            me = await http.get(
                oidc_provider.discovery()["userinfo_endpoint"],
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            )
        assert me.json()["groups"] == list(alice.groups)

        logout = (
            oidc_provider.discovery()["end_session_endpoint"]
            + "?"
            + urlencode(
                {
                    "id_token_hint": tokens["id_token"],
                    "post_logout_redirect_uri": rp.url + "/",
                    "state": "bye",
                }
            )
        )
        await page.goto(logout)
        await page.get_by_role("button", name="Yes, sign me out").click()
        await page.wait_for_url(rp.url + "/?**", timeout=TIMEOUT * 1000)
        assert rp.requests[-1][:2] == ("/", {"state": "bye"})

        await page.goto(authorization(oidc_provider, redirect_uri=rp.url + "/auth/callback").url)
        await expect(page.get_by_label("Username")).to_be_visible()


async def test_code_needs_its_verifier_and_is_used_once(oidc_provider: OidcProvider) -> None:
    """A code is refused without its code_verifier or with another one, given once, and
    refused after that."""
    oidc_provider.set_client(redirect_uris=[UNREACHED])
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        auth, code = await sign_in(oidc_provider, http, "bob")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": UNREACHED}
    for verifier in ({}, {"code_verifier": pkce_pair()[0]}):
        answer = await token_request(oidc_provider, **form, **verifier)
        assert answer.json()["error"] == "invalid_grant"
    assert id_token_claims(oidc_provider, await exchange(oidc_provider, auth, code))["groups"] == [
        "waitboard-reception"
    ]
    again = await token_request(oidc_provider, **form, code_verifier=auth.verifier)
    assert again.json()["error"] == "invalid_grant"


# --- the clock and the groups ---------------------------------------------------------------


async def test_tokens_follow_the_clock(oidc_provider: OidcProvider) -> None:
    """With the clock set, an ID token's iat is that time and exp an hour later; moved on,
    a refreshed ID token follows; a code expires after a minute; after the session's 14
    days the refresh token is refused and the login form comes again."""
    oidc_provider.set_client(redirect_uris=[UNREACHED])
    oidc_provider.set_clock(MONDAY)
    assert oidc_provider.now() == MONDAY
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        auth, code = await sign_in(oidc_provider, http, "alice", **OFFLINE)
        tokens = await exchange(oidc_provider, auth, code)
        claims = id_token_claims(oidc_provider, tokens)
        assert claims["iat"] == MONDAY.timestamp()
        assert claims["exp"] == claims["iat"] + 3600

        oidc_provider.advance_clock(timedelta(days=2).total_seconds())
        later = id_token_claims(
            oidc_provider, await refresh(oidc_provider, tokens["refresh_token"])
        )
        assert later["iat"] == (MONDAY + timedelta(days=2)).timestamp()
        assert later["sub"] == claims["sub"]

        auth, code = await sign_in(oidc_provider, http, "alice")
        oidc_provider.advance_clock(61)
        late = await token_request(
            oidc_provider,
            grant_type="authorization_code",
            code=code,
            redirect_uri=UNREACHED,
            code_verifier=auth.verifier,
        )
        assert late.json()["error"] == "invalid_grant"

        oidc_provider.advance_clock(timedelta(days=15).total_seconds())
        expired = await token_request(
            oidc_provider, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert expired.json()["error"] == "invalid_grant"
        answer = await http.get(authorization(oidc_provider).url, follow_redirects=True)
        assert 'name="password"' in answer.text


async def test_changed_groups_show_in_the_next_token(oidc_provider: OidcProvider) -> None:
    """A user's groups changed while the provider runs are in the next refreshed ID token,
    at userinfo and in the next sign-in, which needs no password (the session holds)."""
    oidc_provider.set_client(redirect_uris=[UNREACHED])
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        auth, code = await sign_in(oidc_provider, http, "alice", **OFFLINE)
        tokens = await exchange(oidc_provider, auth, code)
        assert id_token_claims(oidc_provider, tokens)["groups"] == list(USERS["alice"].groups)

        oidc_provider.set_groups("alice", ["waitboard-reception"])
        fresh = await refresh(oidc_provider, tokens["refresh_token"])
        assert id_token_claims(oidc_provider, fresh)["groups"] == ["waitboard-reception"]
        me = await http.get(
            oidc_provider.discovery()["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {fresh['access_token']}"},
        )
        assert me.json()["groups"] == ["waitboard-reception"]

        oidc_provider.set_groups("alice", [])
        auth, code = await sign_in(oidc_provider, http, "alice", password="")
        assert (
            id_token_claims(oidc_provider, await exchange(oidc_provider, auth, code))["groups"]
            == []
        )


async def test_reset_restores_the_start(oidc_provider: OidcProvider) -> None:
    """reset() brings back real time, the users' groups of users.json and the client as
    configured, and ends every session."""
    oidc_provider.set_client(redirect_uris=[UNREACHED])
    oidc_provider.set_clock(datetime(2031, 1, 1, tzinfo=UTC))
    oidc_provider.set_groups("carol", ["waitboard-advisors"])
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        await sign_in(oidc_provider, http, "carol")
        oidc_provider.reset()
        assert oidc_provider.now() < datetime(2031, 1, 1, tzinfo=UTC)
        refused = await http.get(authorization(oidc_provider).url, follow_redirects=True)
        assert refused.status_code == 400
        assert "redirect_uri" in refused.text
        oidc_provider.set_client(redirect_uris=[UNREACHED])
        answer = await http.get(authorization(oidc_provider).url, follow_redirects=True)
        assert 'name="password"' in answer.text
        auth, code = await sign_in(oidc_provider, http, "carol")
        tokens = await exchange(oidc_provider, auth, code)
    assert id_token_claims(oidc_provider, tokens)["groups"] == []


# --- ID tokens the provider never issued ----------------------------------------------------


def test_sign_id_token(oidc_provider: OidcProvider) -> None:
    """sign_id_token with the provider's key verifies against its JWKS, with the defaults
    filled in; with another key, even one under the same kid, it does not."""
    token = oidc_provider.sign_id_token({"sub": USERS["bob"].sub, "nonce": "n-1", "exp": None})
    header, claims = verify_jwt(token, oidc_provider.jwks())
    assert header == {"alg": "RS256", "typ": "JWT", "kid": oidc_provider.jwk["kid"]}
    assert claims["iss"] == oidc_provider.issuer
    assert claims["aud"] == oidc_provider.client_id
    assert (claims["sub"], claims["nonce"]) == (USERS["bob"].sub, "n-1")
    assert "exp" not in claims

    for other in (
        new_signing_key("RSA", kid=oidc_provider.jwk["kid"]),
        new_signing_key("RSA"),
        new_signing_key("EC"),
    ):
        forged = oidc_provider.sign_id_token({"sub": USERS["bob"].sub}, key=other)
        with pytest.raises(BadToken):
            verify_jwt(forged, oidc_provider.jwks())
        assert verify_jwt(forged, {"keys": [public_jwk(other)]})[1]["sub"] == USERS["bob"].sub
