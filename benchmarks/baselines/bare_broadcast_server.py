"""The floor for benchmarks/post_to_screen.py: a bare `websockets` server that makes the
changes itself and hands each snapshot to ``broadcast()`` - no HTTP, no Redis, no
coalescing, no backpressure: the least a server can do to put a change on every screen.

It reads a job on stdin (``{"payload": <snapshot>, "rate": 10, "count": 200}``), prints
``{"port": N}`` when it listens, waits for a ``go`` line, then makes change k at
t0 + k / rate: stamps the time, sets the snapshot's seq, serialises it and broadcasts it
to every connection. At the end it prints ``{"stamps": [[seq, time], ...]}``.

    python -m benchmarks.baselines.bare_broadcast_server < job.json
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import orjson
import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

screens: set[ServerConnection] = set()


async def handler(connection: ServerConnection) -> None:
    screens.add(connection)
    try:
        await connection.wait_closed()
    finally:
        screens.discard(connection)


async def changes(template: dict[str, Any], rate: float, count: int) -> list[list[float]]:
    stamps: list[list[float]] = []
    seq = int(template["seq"])
    t0 = time.monotonic() + 0.05
    for k in range(count):
        await asyncio.sleep(max(0.0, t0 + k / rate - time.monotonic()))
        sent = time.time()  # as "just before the POST" for waitboard
        seq += 1
        broadcast(screens, orjson.dumps({**template, "seq": seq}).decode())
        stamps.append([seq, sent])
    return stamps


async def main() -> None:
    job = json.loads(sys.stdin.readline())
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    # Per-message deflate off, as for waitboard.
    async with serve(handler, "127.0.0.1", 0, compression=None, backlog=4096) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(json.dumps({"port": port}), flush=True)
        await asyncio.wait_for(reader.readline(), 600)  # "go"
        stamps = await changes(job["payload"], job["rate"], job["count"])
        await asyncio.sleep(1.0)  # the last frames leave before the report
        print(json.dumps({"stamps": stamps}), flush=True)
        await asyncio.wait_for(reader.readline(), 600)  # "stop"


if __name__ == "__main__":
    uvloop.run(main())
