"""Comparison (c): the `websockets` library's own server and its ``broadcast()``.

The issue's alternative to the ASGI path for the live endpoint, written as the library's
broadcast topic shows: every connection joins its location's set and waits to be closed;
one Redis subscriber hands each published snapshot to ``broadcast()``, which writes it to
every open connection without awaiting. There is no coalescing and no backpressure (a
client that stops reading keeps its growing buffer). benchmarks/fanout.py's driver
publishes the snapshots on Redis, as for the other baselines.

    python -m benchmarks.baselines.wsbroadcast_server --port 8000   (REDIS_URL in the environment)
"""

from __future__ import annotations

import argparse
import os

import uvloop
from redis.asyncio import Redis
from websockets.asyncio.server import ServerConnection, broadcast, serve

rooms: dict[str, set[ServerConnection]] = {}


async def handler(connection: ServerConnection) -> None:
    location = connection.request.path.rsplit("/", 1)[-1] if connection.request else ""
    room = rooms.setdefault(location, set())
    room.add(connection)
    try:
        await connection.wait_closed()
    finally:
        room.discard(connection)


async def relay(redis: Redis) -> None:
    pubsub = redis.pubsub()
    await pubsub.psubscribe("*")  # one subscription for every location's channel
    async for message in pubsub.listen():
        if message["type"] == "pmessage":
            channel = message["channel"].decode()
            broadcast(rooms.get(channel, ()), message["data"].decode())


async def main(port: int) -> None:
    redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    # Per-message deflate off, as for the other servers in the benchmark.
    async with serve(handler, "127.0.0.1", port, compression=None, backlog=4096):
        await relay(redis)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    uvloop.run(main(parser.parse_args().port))
