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
language for a browser, an HTTP 429 answer for a
WebSocket handshake.
"""

from __future__ import annotations

import ipaddress
import math
import secrets
from dataclasses import dataclass
from functools import lru_cache

from starlette.requests import HTTPConnection
from starlette.types import Scope

from waitboard.store.limits import Buckets, Limit

__all__ = [
    "Limit",
    "Limits",
    "address_of",
    "charges",
    "client_key",
    "retry_after",
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


#: Where the barrier report form is sent (pages.accessibility).
REPORT_PATH = "/barrierefreiheit/melden"
PUBLIC = Limit(per_minute=300, burst=150)
WEBSOCKET = Limit(per_minute=60, burst=30)
FAILURES = Limit(per_minute=10, burst=10)
#: 10 at once, then one every 3 minutes.
BOOKINGS = Limit(per_minute=20 / 60, burst=10)
#: Reports of barriers per address: a person reports a few, a script not many.
REPORTS = Limit(per_minute=6 / 60, burst=5)


@dataclass(frozen=True)
class Limits:
    """The limits per client address; the defaults are the production ones."""

    public: Limit = PUBLIC
    websocket: Limit = WEBSOCKET
    failures: Limit = FAILURES
    bookings: Limit = BOOKINGS
    reports: Limit = REPORTS

    @classmethod
    def for_public(cls, per_minute: int) -> Limits:
        """``per_minute`` public requests per address (0: none, bookings not limited
        either), handshakes in proportion; the limit on failures always applies."""
        return cls(
            public=Limit(per_minute, max(1, per_minute / 2)),
            websocket=Limit(per_minute / 5, max(1, per_minute / 10)),
            **({} if per_minute else {"bookings": Limit(0, 0), "reports": Limit(0, 0)}),
        )


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


def reports_a_barrier(scope: Scope) -> bool:
    """The barrier report form, sent."""
    return scope.get("method") == "POST" and scope["path"] == REPORT_PATH


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
    if reports_a_barrier(scope):
        buckets["reports"] = limits.reports
    return buckets


def retry_after(wait_s: float) -> int:
    """Whole seconds for ``Retry-After``: never 0, never earlier than the limit allows."""
    return max(1, math.ceil(wait_s))


def address_binding(host: str | None) -> str:
    """What a public client's Idempotency-Key is bound to at the API: its address, counted
    as the limits count it (:func:`client_key`). Without a known address, a binding that
    no other request can match: such a retry gets 409 rather than risk handing a booking
    to a stranger."""
    if not host:
        return "unbound:" + secrets.token_urlsafe(18)
    return "address:" + client_key(host)
