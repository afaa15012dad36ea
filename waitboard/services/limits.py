"""Rate limits per client address: which requests count against what (the policy).

The counting is :mod:`waitboard.store.limits`'s: buckets in Redis that every server process
shares, so each limit below holds as written however many processes serve the requests.
A client is its address as uvicorn reports it (behind a reverse proxy, the address the
proxy forwarded, for proxies listed in ``WAITBOARD_FORWARDED_ALLOW_IPS``); an IPv6 client
counts by its /64 network (:func:`client_key`). Redis holds only a keyed digest of it.

The policy, per client address:

* **Trusted requests are never refused.** A request with a configured device's token
  (``Authorization: Bearer``) or with a valid staff session (terminals, screens and desks
  logged in at ``/staff/login``) is counted against nothing here.
* **Public requests** (``public``; ``WAITBOARD_RATE_LIMIT`` a minute, half of it at once):
  generous, because a Jobcenter's guest WiFi puts many phones behind one address.
* **WebSocket handshakes** (``websocket``; a fifth of it): a lobby full of screens
  reconnects now and then, a loop does not.
* **Bookings** (``bookings``; 10 at once, then one every 3 minutes), on top of ``public``:
  a family books a few, nobody books out a morning's slots.
* **Failed logins and unknown tokens** (``failures``; 10 a minute, always on), on top of
  ``public``. A request with an unknown token is charged before it is answered, and over
  the limit it gets 429 with ``Retry-After`` instead of 401. A login form is charged only
  once it has been refused (a wrong token: 401, an expired form: 403), so a login with the
  right token always goes through, whatever the address's count; over the limit, a
  refused login is answered 429 instead.

Why the failure limit must never lock anyone out: device tokens carry 256 random bits
(anything from 128 up would do), so guessing one is hopeless at any rate - the limit does
not protect the tokens. It bounds the noise of a misconfigured device or a guesser and
slows them down. A Jobcenter's kiosks, desks and screens reach the service from ONE
address (the office's NAT): were a valid token refused after failures from that address,
one person's typos, or one device with an old token, would lock out the whole office. So
only what failed is limited, and what is valid always passes.

Refusals: 429 with ``Retry-After``; problem+json for the API, a page in the reader's
language for a browser (:func:`waitboard.problems.rate_limited`), an HTTP 429 answer for a
WebSocket handshake.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from functools import lru_cache

import orjson
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from waitboard.context import AppContext
from waitboard.core.errors import Unavailable
from waitboard.pages import sessions
from waitboard.store.limits import Buckets, Limit
from waitboard.web import problems

__all__ = [
    "Limit",
    "Limits",
    "RateLimitMiddleware",
    "address_of",
    "charges",
    "client_key",
    "retry_after",
    "trusted",
]


@lru_cache(maxsize=4096)
def client_key(host: str) -> str:
    """The name one client is counted under: an IPv4 address as it is, an IPv6 address
    by its /64 network, anything else (a unix socket's peer) as given.

    Every home line, phone and server gets a whole /64 and may use any address in it, so
    counting single IPv6 addresses would let one client take 2^64 turns. A network's
    phones behind one IPv4 address (a lobby's guest WiFi) share a bucket the same way."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # a dual-stack socket's view of an IPv4 client
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def address_of(conn: HTTPConnection) -> str:
    """The client's address as it is counted (:func:`client_key`)."""
    return client_key(conn.client.host) if conn.client else "unknown"


PUBLIC = Limit(per_minute=300, burst=150)
WEBSOCKET = Limit(per_minute=60, burst=30)
FAILURES = Limit(per_minute=10, burst=10)
#: 10 at once, then one every 3 minutes.
BOOKINGS = Limit(per_minute=20 / 60, burst=10)


@dataclass(frozen=True)
class Limits:
    """The limits per client address; the defaults are the production ones."""

    public: Limit = PUBLIC
    websocket: Limit = WEBSOCKET
    failures: Limit = FAILURES
    bookings: Limit = BOOKINGS

    @classmethod
    def for_public(cls, per_minute: int) -> Limits:
        """``per_minute`` public requests per address (0: none, bookings not limited
        either), handshakes in proportion; the limit on failures always applies."""
        return cls(
            public=Limit(per_minute, max(1, per_minute / 2)),
            websocket=Limit(per_minute / 5, max(1, per_minute / 10)),
            **({} if per_minute else {"bookings": Limit(0, 0)}),
        )


#: Never limited: static files, health checks and metrics (a probe must always get through).
EXEMPT = ("/static/", "/livez", "/readyz", "/metrics")
#: What a refused login answers (a wrong token, an expired form).
REFUSED_LOGIN = (401, 403)


def is_login(scope: Scope) -> bool:
    """The login form, sent."""
    path: str = scope["path"]
    return path == "/staff/login" and scope.get("method") == "POST"


def books(scope: Scope) -> bool:
    """A public booking: the API's POST or the booking form's."""
    path: str = scope["path"]
    return (
        scope.get("method") == "POST"
        and path.startswith(("/api/v1/locations/", "/locations/"))
        and (path.endswith("/appointments") or "/appointments/" in path)
    )


def charges(scope: Scope, limits: Limits) -> Buckets:
    """The buckets an untrusted request is charged to before it is served (a login form
    is charged only when it is refused: :data:`REFUSED_LOGIN`)."""
    if scope["type"] == "websocket":
        return {"websocket": limits.websocket}
    if is_login(scope):
        return {}
    buckets = {"public": limits.public}
    if any(name == b"authorization" for name, _ in scope["headers"]):
        buckets["failures"] = limits.failures  # a token, and not a known one
    if books(scope):
        buckets["bookings"] = limits.bookings
    return buckets


async def trusted(conn: HTTPConnection, ctx: AppContext) -> bool:
    """A configured device's token, or a valid staff session (signed cookie, a device that
    still exists with the same token, not logged out)."""
    scheme, _, token = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and ctx.devices.knows(token.strip()):
        return True
    if not conn.scope.get("session"):  # no cookie, or one whose signature did not hold
        return False
    try:
        device = await sessions.current_device(conn)
    except Unavailable:
        # Redis cannot say whether it was logged out: counted like any request (and the
        # limiter, without Redis either, lets it through).
        return False
    return device is not None


class RateLimitMiddleware:
    """The policy above, as pure ASGI middleware: inside the session middleware (it needs
    the session), in front of everything else, WebSockets included."""

    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app = app
        self.limits = limits or Limits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = getattr(scope.get("app"), "state", None)
        ctx: AppContext | None = getattr(state, "ctx", None)
        if (
            ctx is None
            or scope["type"] not in ("http", "websocket")
            or scope["path"].startswith(EXEMPT)
        ):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        if await trusted(conn, ctx):
            await self.app(scope, receive, send)
            return
        address = address_of(conn)
        wait = await ctx.limiter.take("address", address, charges(scope, self.limits))
        if wait > 0:
            await _refuse(scope, receive, send, wait)
            return
        if not is_login(scope):
            await self.app(scope, receive, send)
            return

        # A login is charged only once refused; over the limit its answer becomes a 429.
        refused = False

        async def charge_if_refused(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message["status"] in REFUSED_LOGIN:
                buckets = {"failures": self.limits.failures, "public": self.limits.public}
                wait = await ctx.limiter.take("address", address, buckets)
                if wait > 0:
                    refused = True
                    await _refuse(scope, receive, send, wait)
                    return
            if not refused:
                await send(message)

        await self.app(scope, receive, charge_if_refused)


def retry_after(wait_s: float) -> int:
    """Whole seconds for ``Retry-After``: never 0, never earlier than the limit allows."""
    return max(1, math.ceil(wait_s))


async def _refuse(scope: Scope, receive: Receive, send: Send, wait_s: float) -> None:
    seconds = retry_after(wait_s)
    if scope["type"] == "http":
        response = problems.rate_limited(Request(scope, receive), seconds)
        await response(scope, receive, send)
        return
    # ASGI lets a server refuse the handshake with an HTTP answer (uvicorn does).
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1013})
        return
    body = orjson.dumps(
        {
            "type": "urn:waitboard:problem:rate_limited",
            "status": 429,
            "title": "Too many requests",
            "detail": f"Too many connections; try again in {seconds} s.",
            "code": "rate_limited",
        }
    )
    await send(
        {
            "type": "websocket.http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", problems.MEDIA_TYPE.encode()),
                (b"retry-after", str(seconds).encode()),
            ],
        }
    )
    await send({"type": "websocket.http.response.body", "body": body})
