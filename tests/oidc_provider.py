"""A real OpenID Connect provider for the tests: node-oidc-provider (OpenID certified), run by
tests/oidc/provider.mjs in a process of its own, with the test users of tests/oidc/users.json
(alice, bob, carol), one confidential client, and what only a test may do to a provider: set
its clock, change a user's groups, change the client, sign tokens with its key.

The provider names itself ``http://localhost:<port>`` (it binds 127.0.0.1), so that a relying
party on ``127.0.0.1`` is another site to a browser. Its endpoints are named after the address
a request used, so always speak to it through :attr:`OidcProvider.issuer`.

The fixtures (conftest.py): ``oidc_provider`` is one provider per test session and pytest-xdist
worker, brought back to its start before each test (:meth:`OidcProvider.reset`); a sign-in
test of waitboard (its paths here are only an example) goes::

    async def test_staff_sign_in(oidc_provider: OidcProvider, redis_server, office) -> None:
        port = free_port()
        oidc_provider.set_client(redirect_uris=[f"http://127.0.0.1:{port}/auth/callback"])
        async with live_server(redis_server.url, office, port=port) as srv, httpx.AsyncClient(
            base_url=srv.url
        ) as http:
            login = await http.get("/staff/login")  # waitboard sends the browser to the provider
            back = await oidc_provider.sign_in(http, login.headers["location"], "alice")
            await http.get(back)  # waitboard's callback, with the code
            oidc_provider.set_groups("alice", [])  # gone at the next re-check
            oidc_provider.advance_clock(3600)  # the ID token has expired
        forged = oidc_provider.sign_id_token({"sub": USERS["alice"].sub}, key=new_signing_key())

A real browser goes the same way (tests/test_oidc_provider.py): the login form has the labels
"Username" and "Password" and the button "Sign in".

Keys, signing and checking signatures: tests/jws.py.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from tests.helpers import ROOT, TIMEOUT, require_tool
from tests.jws import new_signing_key, sign_jwt

OIDC_DIR = ROOT / "tests" / "oidc"
PROVIDER = OIDC_DIR / "provider.mjs"
_READY = re.compile(r"oidc-provider ready issuer=(\S+)")


@dataclass(frozen=True)
class OidcUser:
    """A person the provider knows: signs in with ``username`` and ``password``."""

    username: str
    password: str
    sub: str
    name: str
    email: str
    groups: tuple[str, ...]


def _load_users() -> dict[str, OidcUser]:
    raw = json.loads((OIDC_DIR / "users.json").read_text(encoding="utf-8"))
    return {
        name: OidcUser(
            username=name,
            password=u["password"],
            sub=u["sub"],
            name=u["name"],
            email=u["email"],
            groups=tuple(u["groups"]),
        )
        for name, u in raw.items()
    }


#: The provider's users as it starts (and after each reset): alice (advisor at Süd), bob
#: (reception), carol (no groups).
USERS = _load_users()


# --- the provider as a process -------------------------------------------------------------


class OidcProvider:
    """``node tests/oidc/provider.mjs`` in its own process group, on a free loopback port."""

    def __init__(
        self,
        tmp: Path,
        jwk: Mapping[str, Any] | None = None,
        client_id: str = "waitboard",
        redirect_uris: Sequence[str] = ("http://127.0.0.1:8000/auth/callback",),
        post_logout_redirect_uris: Sequence[str] = ("http://127.0.0.1:8000/",),
        ttl: Mapping[str, int] | None = None,
    ) -> None:
        #: The private signing key (a JWK) the provider signs its ID tokens with.
        self.jwk: dict[str, Any] = dict(jwk or new_signing_key(kid="waitboard-test-op"))
        self.client_id = client_id
        self.client_secret = secrets.token_urlsafe(32)
        self._admin_token = secrets.token_urlsafe(32)
        self._config = {
            "admin_token": self._admin_token,
            "jwk": self.jwk,
            "client": {
                "client_id": client_id,
                "client_secret": self.client_secret,
                "redirect_uris": list(redirect_uris),
                "post_logout_redirect_uris": list(post_logout_redirect_uris),
            },
            "ttl": dict(ttl or {}),
        }
        self._tmp = tmp
        self.log_path = tmp / "oidc-provider.log"
        self.issuer = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._http = httpx.Client(timeout=TIMEOUT)
        self._discovery: dict[str, Any] | None = None

    # -- process

    def start(self) -> OidcProvider:
        """Starts it and returns once its discovery document is served."""
        node = require_tool("node")
        if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            pytest.fail("tests/oidc/node_modules is missing: npm ci --prefix tests/oidc")
        config_path = self._tmp / "oidc-provider.json"
        config_path.write_text(json.dumps(self._config), encoding="utf-8")
        os.chmod(config_path, 0o600)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [node, str(PROVIDER), "--config", str(config_path), "--port", "0"],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=OIDC_DIR,
                start_new_session=True,
            )
        try:
            self._wait_until_served()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_served(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 3 * TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the OpenID provider exited ({self.proc.returncode}):\n{self.log()}")
            if not self.issuer and (found := _READY.search(self.log())):
                self.issuer = found.group(1)
            if self.issuer:
                try:
                    answer = httpx.get(self.issuer + "/.well-known/openid-configuration", timeout=1)
                    if answer.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        pytest.fail(f"the OpenID provider did not serve its discovery document:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it is still there after the timeout."""
        self._http.close()
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(TIMEOUT)

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log(self) -> str:
        """The provider's output (its errors are logged there)."""
        return self.log_path.read_text(errors="replace")[-4000:]

    # -- what a relying party sees

    def discovery(self) -> dict[str, Any]:
        """The discovery document, as a relying party reads it (once: it does not change)."""
        if self._discovery is None:
            self._discovery = self._get(self.issuer + "/.well-known/openid-configuration")
        return self._discovery

    def jwks(self) -> dict[str, Any]:
        """The provider's JWK Set, as served at its jwks_uri."""
        return self._get(self.discovery()["jwks_uri"])

    def _get(self, url: str) -> dict[str, Any]:
        answer = self._http.get(url)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    # -- what only a test does

    def _admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        try:
            answer = self._http.request(
                method,
                self.issuer + "/__test/" + path,
                json=body,
                headers={"Authorization": f"Bearer {self._admin_token}"},
            )
        except httpx.HTTPError as e:
            pytest.fail(f"{method} /__test/{path}: {e!r}; the provider's output:\n{self.log()}")
        if answer.status_code >= 300:
            pytest.fail(f"{method} /__test/{path}: {answer.status_code} {answer.text}")
        return answer

    def reset(self) -> None:
        """Back to the start: real time, the users' groups and the client as configured, no
        sessions, grants, codes or tokens."""
        self._admin("POST", "reset")

    def now(self) -> datetime:
        """The provider's "now"."""
        return datetime.fromtimestamp(self._admin("GET", "clock").json()["now"], UTC)

    def set_clock(self, when: datetime, frozen: bool = True) -> None:
        """The provider's "now" is ``when`` from here on, standing still there (``frozen``)
        or running on from it. Tokens, codes and sessions expire by this clock."""
        self._admin("PUT", "clock", {"now": when.timestamp(), "frozen": frozen})

    def advance_clock(self, seconds: float) -> None:
        """Moves the provider's "now" on by ``seconds`` (back, if negative)."""
        self._admin("PUT", "clock", {"advance": seconds})

    def set_groups(self, username: str, groups: Sequence[str]) -> None:
        """``username``'s groups in every claim the provider gives from now on."""
        self._admin("PUT", f"users/{username}/groups", list(groups))

    def set_client(self, **metadata: Any) -> None:
        """Changes the client's registered metadata, e.g. ``redirect_uris=[...]``,
        ``post_logout_redirect_uris=[...]``; refused (the test fails) if the provider would
        refuse such a client."""
        self._admin("PUT", "client", metadata)

    def hand_out_id_token(self, id_token: str) -> None:
        """The token endpoint's next answer with an ID token carries ``id_token`` instead of
        the provider's own (e.g. one from :meth:`sign_id_token`): a relying party's callback
        meets it where it meets a real one."""
        self._admin("PUT", "next-id-token", {"id_token": id_token})

    def sign_id_token(
        self,
        claims: Mapping[str, Any],
        key: Mapping[str, Any] | None = None,
        header: Mapping[str, Any] | None = None,
    ) -> str:
        """An ID token signed with the provider's key, or with ``key`` (a private JWK), that
        the provider never issued. ``iss``, ``aud``, ``iat`` (the provider's clock) and
        ``exp`` (five minutes later) are filled in unless ``claims`` gives them; a claim
        given as None is left out."""
        iat = int(self.now().timestamp())
        merged = {"iss": self.issuer, "aud": self.client_id, "iat": iat, "exp": iat + 300}
        merged.update(claims)
        return sign_jwt({k: v for k, v in merged.items() if v is not None}, key or self.jwk, header)

    async def sign_in(
        self, http: httpx.AsyncClient, url: str, username: str, password: str | None = None
    ) -> str:
        """Follows ``url`` (an authorization request) through the provider as a browser
        without scripts does, signing in as ``username`` when the login form comes, and
        returns the first address outside the provider it is sent to (the redirect_uri with
        a code or an error). ``http`` keeps the provider's cookies: its session."""
        password = USERS[username].password if password is None else password
        for _ in range(12):
            if not url.startswith(self.issuer + "/"):
                return url
            answer = await http.get(url)
            if answer.status_code == 200 and 'name="password"' in answer.text:
                answer = await http.post(
                    url.split("?")[0] + "/login", data={"username": username, "password": password}
                )
            if not answer.is_redirect:
                pytest.fail(f"the provider answered {answer.status_code}:\n{answer.text[:2000]}")
            url = urljoin(url, answer.headers["location"])
        pytest.fail(f"more than 12 steps through the provider, last at {url}")
