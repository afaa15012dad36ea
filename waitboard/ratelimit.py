"""Rate limits per client address: public requests, WebSocket handshakes, failed logins.

Token buckets in this process's memory, keyed by the client's address (as uvicorn reports
it: behind a reverse proxy, the address the proxy forwarded, for proxies listed in
``WAITBOARD_FORWARDED_ALLOW_IPS``). Addresses are held only here, never logged or stored,
and at most ``MAX_ADDRESSES`` of them (the least recently seen are forgotten). An IPv6
client counts by its /64 network (see :func:`client_key`).

* public requests (no credentials): a generous bucket - a Jobcenter's guest WiFi puts
  many phones behind one address;
* WebSocket handshakes: a lobby full of screens reconnects now and then, a loop does not;
* failed logins and unknown tokens: after ``failures`` in a minute, every request from
  that address that carries credentials is refused (429) until the bucket refills; only a
  known device's token is let past the public limit;
* bookings: a few per address, so that nobody books out a morning's slots.

Answers are 429 problem+json with ``Retry-After``. With several workers each has its own
buckets (the limits multiply); that is fine for what they are for: keeping a runaway
client or a token guesser from taking the service's time.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from waitboard import problems

MAX_ADDRESSES = 50_000


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


@dataclass(frozen=True)
class Limit:
    per_minute: float  # 0: no limit
    burst: float


@dataclass(frozen=True)
class Limits:
    public: Limit = Limit(per_minute=300, burst=150)
    websocket: Limit = Limit(per_minute=60, burst=30)
    failures: Limit = Limit(per_minute=10, burst=10)
    # Bookings from one address: a family books a few, nobody books a morning's slots.
    bookings: Limit = Limit(per_minute=20 / 60, burst=10)

    @classmethod
    def for_public(cls, per_minute: int) -> Limits:
        """``per_minute`` public requests per address (0: none, bookings not limited
        either), handshakes in proportion; the limit on failed logins always applies."""
        return cls(
            public=Limit(per_minute, per_minute / 2),
            websocket=Limit(per_minute / 5, per_minute / 10),
            **({} if per_minute else {"bookings": Limit(0, 0)}),
        )


class Buckets:
    """Token buckets per key: ``take`` says whether there was a token, and if not, how
    many seconds until there is one (pure but for the clock)."""

    def __init__(self, limit: Limit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def _refill(self, key: str) -> float:
        now = self.clock()
        tokens, at = self._state.pop(key, (self.limit.burst, now))
        tokens = min(self.limit.burst, tokens + (now - at) * self.limit.per_minute / 60)
        self._state[key] = (tokens, now)
        if len(self._state) > MAX_ADDRESSES:
            self._state.popitem(last=False)
        return tokens

    def available(self, key: str) -> float:
        """Seconds until ``key`` may go again (0: now)."""
        if self.limit.per_minute <= 0:
            return 0.0
        tokens = self._refill(key)
        if tokens >= 1:
            return 0.0
        return (1 - tokens) * 60 / self.limit.per_minute

    def take(self, key: str) -> float:
        """Use a token; the seconds to wait when there was none (0: allowed)."""
        wait = self.available(key)
        if wait == 0 and key in self._state:
            tokens, at = self._state[key]
            self._state[key] = (tokens - 1, at)
        return wait


_EXEMPT = ("/static/", "/livez", "/readyz", "/metrics")


class RateLimitMiddleware:
    """The limits above, as pure ASGI middleware (in front of everything else)."""

    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app = app
        limits = limits or Limits()
        self.public = Buckets(limits.public)
        self.websocket = Buckets(limits.websocket)
        self.failures = Buckets(limits.failures)
        self.bookings = Buckets(limits.bookings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith(_EXEMPT):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client_key(client[0]) if client else "unknown"
        headers = dict(scope.get("headers") or [])
        # Credentials claimed (a token, a login) are limited by their failures; a known
        # device's token is trusted past the public limit, anything else is not.
        credentials = b"authorization" in headers or (
            scope["path"] == "/staff/login" and scope.get("method") == "POST"
        )
        trusted = b"authorization" in headers and _known_device(scope, headers)
        if scope["type"] == "websocket":
            wait = self.websocket.take(address)
        elif trusted:
            wait = self.failures.available(address)  # only failures use it up (below)
        elif credentials:
            wait = max(self.failures.available(address), self.public.take(address))
        elif b"cookie" in headers and scope["path"].startswith(("/staff", "/terminal")):
            wait = 0.0  # a logged-in staff page: its limits are the session's business
        else:
            wait = self.public.take(address)
        if wait <= 0 and not trusted and _books(scope):
            wait = self.bookings.take(address)
        if wait > 0:
            await _refuse(scope, receive, send, wait)
            return
        if not credentials:
            await self.app(scope, receive, send)
            return

        async def count_failures(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.failures.take(address)
            await send(message)

        await self.app(scope, receive, count_failures)


def _known_device(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    """Whether the bearer token is one of the configured devices' (a hash lookup)."""
    state = getattr(scope.get("app"), "state", None)
    ctx = getattr(state, "ctx", None)
    if ctx is None:
        return False
    value = headers[b"authorization"].decode("latin-1")
    scheme, _, token = value.partition(" ")
    return scheme.lower() == "bearer" and ctx.devices.knows(token.strip())


def _books(scope: Scope) -> bool:
    """A public booking: the API's POST or the booking form's."""
    path: str = scope["path"]
    return (
        scope.get("method") == "POST"
        and path.startswith(("/api/v1/locations/", "/locations/"))
        and (path.endswith("/appointments") or "/appointments/" in path)
    )


async def _refuse(scope: Scope, receive: Receive, send: Send, wait_s: float) -> None:
    retry_after = str(max(1, math.ceil(wait_s)))
    if scope["type"] == "websocket":
        # ASGI lets a server refuse the handshake with an HTTP answer (uvicorn does).
        if "websocket.http.response" in scope.get("extensions", {}):
            body = orjson.dumps(
                {
                    "type": "urn:waitboard:problem:rate_limited",
                    "status": 429,
                    "title": "Too many requests",
                    "detail": f"Too many connections; try again in {retry_after} s.",
                    "code": "rate_limited",
                }
            )
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/problem+json"),
                        (b"retry-after", retry_after.encode()),
                    ],
                }
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1013})
        return
    response = problems.problem(
        429,
        "rate_limited",
        "Too many requests",
        f"Too many requests from your address; try again in {retry_after} s.",
        scope["path"],
        {"Retry-After": retry_after},
    )
    await response(scope, receive, send)
