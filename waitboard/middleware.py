"""What every request passes through, and how an error is answered: the app's edge.

Pure ASGI middleware, wired in :func:`waitboard.app.create_app` (outermost first):

* :class:`Web` - security headers, a privacy-safe access log, the answer to an
  unexpected error. The log names the route template, never the concrete path: ticket
  ids are capabilities and stay out of logs, and so do client addresses. An exception that
  escapes everything else is logged and answered here, so even that answer carries the
  security headers and no stack trace.
* :class:`RateLimit` - the rate limits of :mod:`waitboard.services.limits`, counted in
  Redis (:mod:`waitboard.store.limits`), WebSocket handshakes included.
* :class:`BodyLimit` - no request body beyond :data:`MAX_BODY_BYTES`, for the API's JSON
  and the pages' forms alike.

Every error is answered in the asker's terms (:func:`wants_html`): a page in the reader's
language for a browser (:mod:`waitboard.pages.errors`), problem+json for the API and
anything else (:mod:`waitboard.web.problems`).
"""

from __future__ import annotations

import logging
import time

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from waitboard.context import AppContext
from waitboard.core.errors import PayloadTooLarge, Unavailable, WaitboardError
from waitboard.http_status import status_of
from waitboard.pages import errors as pages
from waitboard.pages import sessions
from waitboard.services.limits import (
    REFUSED_LOGIN,
    Limits,
    address_of,
    charges,
    is_login,
    retry_after,
)
from waitboard.web import problems

log = logging.getLogger("waitboard.access")

#: The largest request body accepted: a form or a command is a few hundred bytes.
MAX_BODY_BYTES = 16 * 1024

# --- answering errors -----------------------------------------------------------------------


def wants_html(request: Request) -> bool:
    """Pages answer errors as pages; the API (and anything asking for JSON) as problems."""
    path = request.url.path
    if path.startswith(("/api/", "/livez", "/readyz", "/metrics", "/static/")):
        return False
    return "text/html" in request.headers.get("accept", "") or request.method == "POST"


async def on_waitboard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WaitboardError)
    if wants_html(request):
        return pages.from_error(request, exc, status_of(exc))
    return problems.from_error(exc, request.url.path)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if wants_html(request):
        return pages.from_http_exception(request, exc)
    return problems.from_http_exception(exc, request.url.path)


def internal_error(request: Request) -> Response:
    """The answer to an unexpected error (logged by the caller): never a stack trace."""
    if wants_html(request):
        try:
            return pages.internal_error(request)
        except Exception:  # noqa: S110 - rendering itself failed: fall back to the problem
            pass
    return problems.internal_error(request.url.path)


# --- security headers, access log, the last resort ------------------------------------------

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    # Ticket pages are reachable by their unguessable URL: never leak it to other sites.
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class Web:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            route = getattr(scope.get("route"), "path", "(unmatched)")
            log.exception("unexpected error", extra={"route": route})
            if status:  # the answer had begun; nothing more can be said
                raise
            response = internal_error(Request(scope))
            await response(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": getattr(route, "path", None) or "(unmatched)",
                    "status": status,
                    "ms": round((time.perf_counter() - start) * 1000, 1),
                },
            )


# --- bodies ---------------------------------------------------------------------------------


class BodyLimit:
    """A body over :data:`MAX_BODY_BYTES` is refused (413) before it is all read: at once
    when it says its length, else as soon as it grows past it. The refusal is raised from
    the handler's read, and answered like any error (a page or a problem)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        size = 0

        async def limited() -> Message:
            nonlocal size
            if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                raise PayloadTooLarge(
                    f"The body has {declared.decode()} bytes; at most {MAX_BODY_BYTES} "
                    "are accepted."
                )
            message = await receive()
            size += len(message.get("body", b""))
            if size > MAX_BODY_BYTES:
                raise PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes.")
            return message

        await self.app(scope, limited, send)


# --- rate limits ----------------------------------------------------------------------------


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
        if device is None:
            return await sessions.has_person_session(conn)
    except Unavailable:
        # Redis cannot say whether it was logged out: counted like any request (and the
        # limiter, without Redis either, lets it through).
        return False
    return device is not None


class RateLimit:
    """The policy of :mod:`waitboard.services.limits`: inside the session middleware (it
    needs the session), in front of everything else, WebSockets included."""

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


#: Never limited: static files, health checks and metrics (a probe must always get through).
EXEMPT = ("/static/", "/livez", "/readyz", "/metrics")


async def _refuse(scope: Scope, receive: Receive, send: Send, wait_s: float) -> None:
    seconds = retry_after(wait_s)
    if scope["type"] == "http":
        request = Request(scope, receive)
        response = (
            pages.rate_limited(request, seconds)
            if wants_html(request)
            else problems.rate_limited(seconds, request.url.path)
        )
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
