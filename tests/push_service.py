"""A Web Push service on loopback that checks what it receives as FCM or Mozilla autopush
would, and keeps what it delivered, so that a test can see exactly what waitboard pushed.

It plays both ends a real push needs: the browser (:meth:`PushService.new_subscription`
makes a subscription as ``PushManager.subscribe()`` does, keeping the private key and the
auth secret) and the push service (``POST /push/<token>``: VAPID, RFC 8292; the headers of
RFC 8030; the body decrypted by RFC 8291, aes128gcm). A message it accepts is answered
``201 Created`` with a ``Location`` and recorded with its decrypted JSON payload; anything
else is refused with the status a real service gives and is not recorded. Every request
that arrives is counted, refused or not, so a test can also show that nothing was sent.

The checks are plain functions (:func:`check_vapid`, :func:`check_headers`,
:func:`decrypt`) that raise :class:`Refused`; the HTTP app around them only reads the
request and keeps the books. Stricter than a real service in two points, on purpose:
the plaintext must be UTF-8 JSON (waitboard never sends anything else), and only RFC 8292's
``vapid t=..., k=...`` is accepted, with a ``sub`` claim, not draft VAPID's ``WebPush`` +
``Crypto-Key``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import re
import secrets
import struct
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import http_ece
import orjson
import pytest
import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tests.helpers import TIMEOUT, eventually, free_port

#: RFC 8030 §7.2: a push service must accept at least 4096 bytes of body; FCM and autopush
#: accept no more, so neither may waitboard send more.
MAX_BODY = 4096
#: RFC 8292 §2: the JWT's ``exp`` must not be more than 24 hours from the request.
MAX_EXP_AHEAD_S = 24 * 60 * 60
#: RFC 8030 §5.3.
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
#: RFC 8030 §5.4: a topic is at most 32 characters of the base64url alphabet.
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")
_TTL = re.compile(r"[0-9]{1,10}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
#: RFC 8188 §2.1 header: salt (16), record size (4), key id length (1), then the key id.
_HEADER = 21
#: RFC 8291 §4: the key id is the application server's ephemeral public key, uncompressed.
_KEYID = 65
_TAG = 16
#: Bounds on the loops that wait: a test waits for a handful of messages, never this many.
_MAX_WAKEUPS = 100_000
_MAX_CHUNKS = 10_000


class Refused(Exception):
    """A request the push service turns down: the status it answers and why."""

    def __init__(
        self, status: int, reason: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason
        self.headers = headers or {}
        self.body = body or orjson.dumps({"code": status, "message": reason})


@dataclass(frozen=True)
class Reply:
    """An answer programmed for the next valid message to one subscription. ``retry_after``
    is sent as the ``Retry-After`` header (seconds or an HTTP date)."""

    status: int
    retry_after: int | str | None = None
    body: bytes = b""


@dataclass(frozen=True)
class PushMessage:
    """A message the push service accepted (answered 2xx) and would deliver."""

    token: str
    payload: Any  # the decrypted plaintext, parsed as JSON
    ttl: int
    urgency: str | None
    topic: str | None
    claims: dict[str, Any]  # the VAPID JWT's claims, its signature verified
    vapid_key: str  # the ``k`` of the Authorization header
    headers: dict[str, str]  # every request header, names in lower case


@dataclass(frozen=True)
class PushRequest:
    """One request that arrived, whatever became of it."""

    method: str
    path: str
    status: int
    reason: str  # why it was refused, or "" when the message was accepted


@dataclass(frozen=True)
class VapidAuth:
    """The verified VAPID authentication of a request."""

    claims: dict[str, Any]
    key: str


@dataclass
class _Browser:
    """The browser's side of one subscription: what it needs to decrypt its messages."""

    token: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    application_server_key: bytes | None
    expired: bool = False
    replies: deque[Reply] = field(default_factory=deque)


# --- the checks, without I/O -----------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """base64url without padding (RFC 7515 §2), strictly: anything else is ValueError."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url without padding")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as e:
        raise ValueError(str(e)) from e


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise Refused(403, f"the JWT's {what} is not JSON") from e
    if not isinstance(value, dict):
        raise Refused(403, f"the JWT's {what} is not a JSON object")
    return value


def check_vapid(
    authorization: str | None, origin: str, now: float, application_server_key: bytes | None
) -> VapidAuth:
    """The VAPID claims of a request, verified as RFC 8292 asks; else :class:`Refused` with
    401 when there is no VAPID authentication and 403 when it is invalid (RFC 8292 §4.2)."""
    scheme, _, rest = (authorization or "").strip().partition(" ")
    if scheme.lower() != "vapid":
        raise Refused(401, "no 'Authorization: vapid t=..., k=...' header")
    params: dict[str, str] = {}
    for param in rest.split(","):
        name, _, value = param.strip().partition("=")
        params[name] = value
    token, key = params.get("t", ""), params.get("k", "")
    if not token or not key:
        raise Refused(401, "the vapid Authorization lacks t= or k=")
    try:
        raw_key = unb64url(key)
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw_key)
    except ValueError as e:
        raise Refused(403, "k is not a base64url uncompressed P-256 point") from e
    if application_server_key is not None and raw_key != application_server_key:
        raise Refused(403, "k is not the applicationServerKey the subscription was made with")
    parts = token.split(".")
    if len(parts) != 3:
        raise Refused(403, "t is not a JWS in compact form")
    try:
        header, body, signature = (unb64url(p) for p in parts)
    except ValueError as e:
        raise Refused(403, "a part of the JWT is not base64url without padding") from e
    if _json_object(header, "header").get("alg") != "ES256":
        raise Refused(403, "the JWT's alg is not ES256")
    if len(signature) != 64:
        raise Refused(403, "the JWT's signature is not 64 bytes (r || s)")
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        signed = f"{parts[0]}.{parts[1]}".encode("ascii")
        public_key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as e:
        raise Refused(403, "the JWT's signature does not verify with k") from e
    claims = _json_object(body, "claims")
    check_claims(claims, origin, now)
    return VapidAuth(claims=claims, key=key)


def check_claims(claims: Mapping[str, Any], origin: str, now: float) -> None:
    """Nothing, when ``aud``, ``exp`` and ``sub`` are as RFC 8292 §2 wants them."""
    if claims.get("aud") != origin:
        raise Refused(403, f"aud {claims.get('aud')!r} is not the endpoint's origin {origin!r}")
    exp = claims.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise Refused(403, f"exp {exp!r} is not an integer")
    if exp <= now:
        raise Refused(403, f"exp {exp} has passed (now {now:.0f})")
    if exp > now + MAX_EXP_AHEAD_S:
        raise Refused(403, f"exp {exp} is more than 24 h ahead (now {now:.0f})")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.startswith(("mailto:", "https:")):
        raise Refused(403, f"sub {sub!r} is not a mailto: or https: URI")


@dataclass(frozen=True)
class PushHeaders:
    ttl: int
    urgency: str | None
    topic: str | None


def check_headers(headers: Mapping[str, str]) -> PushHeaders:
    """TTL, Urgency and Topic as RFC 8030 §5.2-5.4 define them, and the one content
    coding of RFC 8291; else :class:`Refused`. ``headers`` has lower-case names."""
    ttl = headers.get("ttl")
    if ttl is None or not _TTL.fullmatch(ttl.strip()):
        raise Refused(400, f"TTL {ttl!r} is missing or not a non-negative integer")
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding != "aes128gcm":
        raise Refused(415, f"Content-Encoding {encoding!r} is not aes128gcm (RFC 8291)")
    urgency = headers.get("urgency")
    if urgency is not None and urgency not in URGENCIES:
        raise Refused(400, f"Urgency {urgency!r} is not one of {sorted(URGENCIES)}")
    topic = headers.get("topic")
    if topic is not None and not _TOPIC.fullmatch(topic):
        raise Refused(400, f"Topic {topic!r} is not 1-32 base64url characters")
    return PushHeaders(ttl=int(ttl), urgency=urgency, topic=topic)


def decrypt(body: bytes, private_key: ec.EllipticCurvePrivateKey, auth: bytes) -> Any:
    """The JSON a browser would hand its service worker, decrypted as RFC 8291 says; else
    :class:`Refused` (400), as a browser would drop the message."""
    if len(body) > MAX_BODY:
        raise Refused(413, f"the body has {len(body)} bytes, more than {MAX_BODY}")
    if len(body) < _HEADER + _KEYID + _TAG + 1:
        raise Refused(400, f"the body ({len(body)} bytes) is too short for aes128gcm")
    (record_size,) = struct.unpack("!L", body[16:20])
    if body[20] != _KEYID:
        raise Refused(400, "the key id is not a 65-byte P-256 public key (RFC 8291 §4)")
    if record_size < len(body) - _HEADER - _KEYID:
        raise Refused(400, "the message is more than one record (RFC 8291 §4)")
    try:
        plaintext: bytes = http_ece.decrypt(
            body, private_key=private_key, auth_secret=auth, version="aes128gcm"
        )
    except (http_ece.ECEException, ValueError) as e:
        raise Refused(400, f"the body does not decrypt for this subscription ({e})") from e
    try:
        return orjson.loads(plaintext)
    except orjson.JSONDecodeError as e:
        raise Refused(400, f"the plaintext is not UTF-8 JSON: {plaintext[:80]!r}") from e


# --- the service ------------------------------------------------------------------------------


class PushService:
    """The push service and the browsers subscribed to it, in the test's event loop."""

    def __init__(self, port: int, clock: Callable[[], float] = time.time) -> None:
        #: The service's clock for ``exp``: give waitboard's when it signs with a clock of
        #: its own (a settable one, say).
        self.clock = clock
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.requests: list[PushRequest] = []
        self.delivered: list[PushMessage] = []
        self._browsers: dict[str, _Browser] = {}
        self._changed = asyncio.Condition()

    # --- the browser's side ---

    def new_subscription(self, application_server_key: str | None = None) -> dict[str, Any]:
        """A fresh subscription, as ``JSON.stringify(pushSubscription)`` gives it.
        ``application_server_key`` (base64url): the VAPID public key the page subscribed
        with; the service then refuses messages signed with another key, as FCM does."""
        token = secrets.token_urlsafe(24)
        private_key = ec.generate_private_key(ec.SECP256R1())
        auth = secrets.token_bytes(16)
        server_key = None if application_server_key is None else unb64url(application_server_key)
        self._browsers[token] = _Browser(token, private_key, auth, server_key)
        p256dh = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.origin}/push/{token}",
            "expirationTime": None,
            "keys": {"p256dh": b64url(p256dh), "auth": b64url(auth)},
        }

    def expire(self, subscription: Mapping[str, Any]) -> None:
        """The browser unsubscribed: its endpoint answers 410 Gone from now on."""
        self._browser(subscription).expired = True

    def answer_next(self, subscription: Mapping[str, Any], *replies: Reply | int) -> None:
        """The next valid messages to ``subscription`` get these answers, in turn, instead
        of 201; a non-2xx answer means the message was not delivered. Invalid requests are
        refused as always and use up no programmed answer."""
        self._browser(subscription).replies.extend(
            r if isinstance(r, Reply) else Reply(r) for r in replies
        )

    # --- what arrived ---

    def messages(self, subscription: Mapping[str, Any]) -> list[PushMessage]:
        token = self._browser(subscription).token
        return [m for m in self.delivered if m.token == token]

    async def wait_for_messages(
        self, subscription: Mapping[str, Any], count: int = 1, timeout: float = TIMEOUT
    ) -> list[PushMessage]:
        """The messages delivered to ``subscription`` once there are ``count`` at least;
        fails the test at the deadline with everything that did arrive."""
        await self._wait(
            lambda: len(self.messages(subscription)) >= count,
            f"{count} message(s) delivered to {self._browser(subscription).token}",
            timeout,
        )
        return self.messages(subscription)

    async def wait_for_requests(self, count: int, timeout: float = TIMEOUT) -> list[PushRequest]:
        """Every request once ``count`` have arrived (refused ones too)."""
        await self._wait(lambda: len(self.requests) >= count, f"{count} request(s)", timeout)
        return list(self.requests)

    def summary(self) -> str:
        """What arrived, one line each: for a failing test's message."""
        lines = [f"{len(self.requests)} request(s):"]
        lines += [f"  {r.method} {r.path} -> {r.status} {r.reason}" for r in self.requests]
        lines.append(f"{len(self.delivered)} message(s) delivered:")
        lines += [f"  {m.token}: ttl={m.ttl} {m.payload!r}" for m in self.delivered]
        return "\n".join(lines)

    async def _wait(self, ready: Callable[[], bool], what: str, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout), self._changed:
                for _ in range(_MAX_WAKEUPS):
                    if ready():
                        return
                    await self._changed.wait()
        if not ready():
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}\n{self.summary()}")

    def _browser(self, subscription: Mapping[str, Any]) -> _Browser:
        endpoint = subscription["endpoint"]
        browser = self._browsers.get(urlsplit(endpoint).path.rsplit("/", 1)[-1])
        if browser is None:
            raise KeyError(f"{endpoint} is no subscription of this push service")
        return browser

    # --- the push service's side ---

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI app: every request, whatever its method and path, comes to
        :meth:`_receive`, so none arrives uncounted (a router would answer some itself)."""
        if scope["type"] == "http":
            response = await self._receive(Request(scope, receive))
            await response(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._count(PushRequest("WEBSOCKET", scope["path"], 403, "no WebSockets here"))
            await send({"type": "websocket.close", "code": 1008})

    async def _receive(self, request: Request) -> Response:
        try:
            status, headers = await self._accept(request)
        except Refused as refused:
            await self._count(
                PushRequest(request.method, request.url.path, refused.status, refused.reason)
            )
            return Response(refused.body, refused.status, refused.headers)
        await self._count(PushRequest(request.method, request.url.path, status, ""))
        return Response(status_code=status, headers=headers)

    async def _count(self, request: PushRequest) -> None:
        self.requests.append(request)
        async with self._changed:
            self._changed.notify_all()

    async def _accept(self, request: Request) -> tuple[int, dict[str, str]]:
        """The status and headers of the answer to a message delivered; else
        :class:`Refused`."""
        head, _, token = request.url.path.rpartition("/")
        browser = self._browsers.get(token) if head == "/push" else None
        if browser is None:
            raise Refused(404, "no such subscription")
        if request.method != "POST":
            raise Refused(405, "a push message is a POST")
        if browser.expired:
            raise Refused(410, "the subscription has expired (unsubscribed)")
        headers = {k.lower(): v for k, v in request.headers.items()}
        vapid = check_vapid(
            headers.get("authorization"), self.origin, self.clock(), browser.application_server_key
        )
        push = check_headers(headers)
        payload = decrypt(await _read_body(request), browser.private_key, browser.auth)
        status = 201
        if browser.replies:
            reply = browser.replies.popleft()
            if not 200 <= reply.status < 300:
                retry = {} if reply.retry_after is None else {"retry-after": str(reply.retry_after)}
                raise Refused(reply.status, f"programmed answer {reply.status}", retry, reply.body)
            status = reply.status
        self.delivered.append(
            PushMessage(
                token, payload, push.ttl, push.urgency, push.topic, vapid.claims, vapid.key, headers
            )
        )
        location = f"{self.origin}/m/{secrets.token_urlsafe(12)}"
        return status, {"location": location, "ttl": str(push.ttl)}


async def _read_body(request: Request) -> bytes:
    """The body, read no further than one byte past :data:`MAX_BODY`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise Refused(413, f"Content-Length {declared} is more than {MAX_BODY}")
    body = b""
    chunks = aiter(request.stream())
    for _ in range(_MAX_CHUNKS):
        chunk = await anext(chunks, None)
        if chunk is None:
            return body
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused(413, f"the body is more than {MAX_BODY} bytes")
    raise Refused(413, "the body came in too many pieces")


# --- running it -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_push_service(
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[PushService]:
    """A :class:`PushService` on a real uvicorn on 127.0.0.1 and a free port, in this event
    loop, for as long as the block runs."""
    service = PushService(free_port(), clock)
    config = uvicorn.Config(
        service.app,
        host="127.0.0.1",
        port=service.port,
        log_config=None,
        access_log=False,
        lifespan="off",
        interface="asgi3",
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done(), "the push service to start")
    assert server.started, "the push service did not start"
    try:
        yield service
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, TIMEOUT)


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    """A push service of this test's own: no subscription, no request, no message yet."""
    async with running_push_service() as service:
        yield service
