"""Baseline (b): Starlette + encode/broadcaster, the usual way: every WebSocket subscribes
to its location's channel and forwards each message it gets (broadcaster delivers to each
subscriber's queue; each connection's loop awaits its send). Thin glue, as broadcaster's
README shows; benchmarks/fanout.py's driver publishes the snapshots on Redis.

    uvicorn benchmarks.baselines.broadcaster_server:app   (REDIS_URL in the environment)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

from broadcaster import Broadcast
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

broadcast = Broadcast(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))


async def location_ws(websocket: WebSocket) -> None:
    await websocket.accept()
    async with broadcast.subscribe(channel=websocket.path_params["location"]) as subscriber:
        async for event in subscriber:  # type: ignore[union-attr]
            await websocket.send_text(event.message)


async def _hold(channel: str, held: asyncio.Event) -> None:
    async with broadcast.subscribe(channel=channel):
        held.set()
        await asyncio.Event().wait()


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await broadcast.connect()
    # broadcaster 0.3's Redis listener starts listening when the first channel is being
    # subscribed; if it looks before Redis confirmed that subscription, it stops and waits
    # for the next new channel - with every client on one location there is none, and
    # nobody gets anything. Two channels held for the server's lifetime, the second after
    # the first is confirmed, keep the listener running (glue around a library race).
    tasks = []
    for channel in ("_hold_1", "_hold_2"):
        held = asyncio.Event()
        tasks.append(asyncio.create_task(_hold(channel, held)))
        await held.wait()
        await asyncio.sleep(0.2)
    yield
    for task in tasks:
        task.cancel()
    await broadcast.disconnect()


app = Starlette(routes=[WebSocketRoute("/ws/{location}", location_ws)], lifespan=lifespan)
