"""Baseline (a): python-socketio's AsyncServer with its AsyncRedisManager, the realtime
stack queue systems commonly use. Thin glue, as its documentation shows: a client joins
the room of its location; whoever changes something emits the snapshot to that room
through Redis (benchmarks/fanout.py's driver, with a write-only manager).

    uvicorn benchmarks.baselines.socketio_server:app   (REDIS_URL in the environment)
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs

import socketio

manager = socketio.AsyncRedisManager(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager, cors_allowed_origins="*")
app = socketio.ASGIApp(sio)


@sio.event
async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
    location = parse_qs(environ.get("QUERY_STRING", "")).get("location", ["loc-0"])[0]
    await sio.enter_room(sid, location)
