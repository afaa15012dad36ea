"""Baseline (b): Starlette + encode/broadcaster, the usual way: every WebSocket subscribes
to its location's channel and forwards each message it gets (broadcaster delivers to each
subscriber's queue; each connection's loop awaits its send). Thin glue, as broadcaster's
README shows; benchmarks/fanout.py's driver publishes the snapshots on Redis.

    uvicorn benchmarks.baselines.broadcaster_server:app   (REDIS_URL in the environment)
"""

from __future__ import annotations

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


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await broadcast.connect()
    yield
    await broadcast.disconnect()


app = Starlette(routes=[WebSocketRoute("/ws/{location}", location_ws)], lifespan=lifespan)
