"""The test office with staff sign-in through the tests' OpenID provider, and a sign-in
without a browser (httpx follows waitboard, the provider and back)."""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.helpers import OFFICE_PATH, TIMEOUT, LiveServer, free_port, live_server
from tests.oidc_provider import OidcProvider
from waitboard.core.office import Office, parse_office

#: alice (waitboard-advisors and loc-sued) works at a counter of Süd, either one; bob
#: (waitboard-reception) at Süd's reception; carol has no group.
GROUPS: list[dict[str, Any]] = [
    {"group": "waitboard-advisors", "also": ["loc-sued"], "role": "counter", "locations": ["sued"]},
    {"group": "waitboard-reception", "role": "reception", "locations": ["sued"]},
]


def office_with_sign_in(provider: OidcProvider, tmp: Path, **changes: Any) -> Office:
    """The test office with ``[sign_in]`` at ``provider`` (its client secret in a file)."""
    secret = tmp / "oidc-client-secret"
    secret.write_text(provider.client_secret + "\n", encoding="utf-8")
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    raw["sign_in"] = {
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret_file": str(secret),
        "prompt": "consent",
        "groups": GROUPS,
        **changes,
    }
    return parse_office(raw, source="sign-in office")


@contextlib.asynccontextmanager
async def signing_in_server(
    provider: OidcProvider, redis_url: str, tmp: Path, clock: Any = None, **changes: Any
) -> AsyncIterator[LiveServer]:
    """waitboard with sign-in at ``provider``, registered there with its callback and its
    page after signing out."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    provider.set_client(
        redirect_uris=[base + "/auth/callback"],
        post_logout_redirect_uris=[base + "/staff/signed-out"],
    )
    office = office_with_sign_in(provider, tmp, **changes)
    async with live_server(redis_url, office, port=port, clock=clock) as srv:
        yield srv


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Started:
    """A sign-in sent to the provider: the authorization request and the answer that sent it."""

    authorize_url: str
    answer: httpx.Response

    @property
    def nonce(self) -> str:
        return query(self.authorize_url)["nonce"]


async def start_sign_in(http: httpx.AsyncClient, next_path: str = "") -> Started:
    answer = await http.get("/staff/sign-in" + (f"?next={next_path}" if next_path else ""))
    assert answer.status_code == 303, answer.text
    return Started(answer.headers["location"], answer)


async def sign_in(
    provider: OidcProvider, http: httpx.AsyncClient, user: str
) -> tuple[httpx.Response, httpx.Response]:
    """``user`` signs in: the callback's answer and (where it went on) that of /auth/done."""
    started = await start_sign_in(http)
    back = await provider.sign_in(http, started.authorize_url, user)
    callback = await http.get(back)
    if callback.status_code != 200 or "/auth/done" not in callback.text:
        return callback, callback
    return callback, await http.get("/auth/done")


def client(srv: LiveServer) -> httpx.AsyncClient:
    """A browser without scripts, as far as waitboard can tell (it asks for pages)."""
    return httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT, headers={"Accept": "text/html"})
