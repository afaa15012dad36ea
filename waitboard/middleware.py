"""Cross-cutting HTTP concerns: security headers, a privacy-safe access log, and the
answer to an unexpected error.

A pure ASGI middleware (it leaves WebSockets untouched). The access log names the route
template, never the concrete path: ticket ids are capabilities and stay out of logs, and
so do client addresses. An exception that escapes everything else is logged here and
answered here, so even that answer carries the security headers and no stack trace.
"""

from __future__ import annotations

import logging
import time

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from waitboard.web import problems

log = logging.getLogger("waitboard.access")

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


class WebMiddleware:
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
            request = Request(scope)
            response = await problems.internal_error(request)
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
