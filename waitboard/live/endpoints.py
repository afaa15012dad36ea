"""WebSocket endpoints: ``/ws/locations/{location}`` and the overview ``/ws/locations``.

They are served by :class:`LiveMiddleware` (not the router), so a connection that lasts
for hours holds as little as possible.

Under ``waitboard serve`` each client is a :class:`waitboard.live.wire.RawSocket`: the
hub's encoded frames go straight to its transport, a client more than 256 KB behind is
cut off, and once subscribed the connection is detached from the ASGI application (it
holds no coroutine while it lasts). Under another ASGI server each connection
(:class:`Connection`) holds at most one frame waiting to be sent; a newer snapshot
replaces an older one (snapshots are whole states, so nothing is lost by skipping one).
A heartbeat never replaces a waiting snapshot. A connection whose send does not finish
within ``send_timeout_s`` (its reader stopped reading, the transport buffer is full) is
dropped. Either way a dropped client reconnects and gets the current snapshot from the
hub's cache, so a slow phone costs at most a bounded buffer and never delays anyone
else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from waitboard.context import AppContext, context
from waitboard.live.actions import Kind
from waitboard.live.wire import EXTENSION, OutFrame, RawSocket

log = logging.getLogger(__name__)


class Connection:
    """One WebSocket client through ASGI, as a hub subscriber."""

    def __init__(self, ws: WebSocket, send_timeout_s: float) -> None:
        self.ws = ws
        self.send_timeout_s = send_timeout_s
        self._pending: str | None = None
        self._pending_kind = Kind.HEARTBEAT
        self._wake = asyncio.Event()

    def offer(self, frame: OutFrame) -> None:
        if (
            frame.kind is not Kind.SNAPSHOT
            and self._pending_kind is Kind.SNAPSHOT
            and self._pending is not None
        ):
            return  # the waiting snapshot tells the client more (it is fresh)
        self._pending, self._pending_kind = frame.text, frame.kind
        self._wake.set()

    async def write(self) -> bool:
        """Send frames until the client goes away (True) or is too slow (False)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            frame, self._pending = self._pending, None
            if frame is None:
                continue
            try:
                await asyncio.wait_for(self.ws.send_text(frame), self.send_timeout_s)
            except TimeoutError:
                return False
            except (WebSocketDisconnect, RuntimeError, OSError):
                return True

    async def read(self) -> None:
        """Drain what the client sends (nothing is expected) until it disconnects."""
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return


def origin_allowed(ws: WebSocket, allowed: tuple[str, ...]) -> bool:
    """Browsers send Origin; a page of another site must not read our feed through its
    visitors. Devices without a browser send none and are let through."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/").lower()
    if allowed:
        return origin in (o.lower() for o in allowed)
    host = ws.headers.get("host", "").lower()
    return urlsplit(origin).netloc == host and urlsplit(origin).scheme in ("http", "https")


async def _serve(ws: WebSocket, ctx: AppContext, location: str | None) -> None:
    raw = ws.scope.get("extensions", {}).get(EXTENSION)
    if isinstance(raw, RawSocket):
        await _serve_raw(ws, ctx, location, raw)
        return
    conn = Connection(ws, ctx.hub.timing.send_timeout_s)
    await ws.accept()
    if location is None:
        ctx.hub.subscribe_overview(conn)
    else:
        ctx.hub.subscribe(location, conn)
    writer = asyncio.create_task(conn.write())
    reader = asyncio.create_task(conn.read())
    try:
        done, _ = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        if writer in done and writer.result() is False:
            ctx.metrics.ws_dropped.inc()
            log.info("dropped a slow WebSocket client", extra={"location": location or "*"})
    finally:
        for task in (writer, reader):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if location is None:
            ctx.hub.unsubscribe_overview(conn)
        else:
            ctx.hub.unsubscribe(location, conn)
    # Returning closes the transport; a stalled client is not awaited for a close frame.


async def _serve_raw(ws: WebSocket, ctx: AppContext, location: str | None, raw: RawSocket) -> None:
    def dropped() -> None:
        ctx.metrics.ws_dropped.inc()
        log.info("dropped a slow WebSocket client", extra={"location": location or "*"})

    def gone() -> None:
        if location is None:
            ctx.hub.unsubscribe_overview(raw)
        else:
            ctx.hub.unsubscribe(location, raw)

    raw.on_slow = dropped  # the abort ends the connection, which unsubscribes it (gone)
    await ws.accept()
    if location is None:
        ctx.hub.subscribe_overview(raw)
    else:
        ctx.hub.subscribe(location, raw)
    # From here on the connection needs no coroutine: the hub writes to it, uvicorn
    # answers its pings, and its end unsubscribes it.
    if not raw.detach(gone):
        gone()  # it ended before it could be detached


async def location_socket(ws: WebSocket) -> None:
    ctx = context(ws)
    location = ws.path_params["location"]
    if location not in ctx.office.location_by_id or not origin_allowed(
        ws, ctx.settings.allowed_origins
    ):
        await ws.close(code=1008)  # before accept: the handshake is refused (HTTP 403)
        return
    await _serve(ws, ctx, location)


async def overview_socket(ws: WebSocket) -> None:
    ctx = context(ws)
    if not origin_allowed(ws, ctx.settings.allowed_origins):
        await ws.close(code=1008)
        return
    await _serve(ws, ctx, None)


class LiveMiddleware:
    """``/ws/locations[/{location}]`` straight to its endpoint, past the routing and
    exception layers: none of them has anything to do for a live feed, and on the ASGI path
    each layer's frame would stay alive as long as a screen is connected - a lobby screen or
    a phone stays for hours, thousands at a time. Goes inside the rate limiter (handshakes
    are limited per address, those of a logged-in screen or desk not: hence the session
    layer outside both)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            path: str = scope["path"]
            if path == "/ws/locations":
                await overview_socket(WebSocket(scope, receive, send))
                return
            location = path.removeprefix("/ws/locations/")
            if location != path and location and "/" not in location:
                scope["path_params"] = {"location": location}
                await location_socket(WebSocket(scope, receive, send))
                return
        await self.app(scope, receive, send)
