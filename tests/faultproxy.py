"""A TCP proxy on loopback that misbehaves on request: latency, blackhole, reset.

It sits between waitboard and Redis in the network-fault tests. ``blackhole`` keeps every
connection open but forwards nothing (a cable pulled on the far side, a firewall dropping
packets); ``reset`` closes every connection at once (a Redis failover, a NAT timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass
class FaultProxy:
    upstream_port: int
    latency_s: float = 0.0
    blackhole: bool = False
    port: int = 0
    _server: asyncio.Server | None = None
    _pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = field(default_factory=set)
    connections: int = 0  # accepted so far

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def reset(self) -> None:
        """Close every connection now (both sides see them drop)."""
        for client, upstream in list(self._pairs):
            for writer in (client, upstream):
                with contextlib.suppress(Exception):
                    writer.transport.abort()
        self._pairs.clear()

    async def stop(self) -> None:
        self.reset()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        await asyncio.gather(
            self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True
        )
        self._pairs.discard(pair)
        for w in pair:
            with contextlib.suppress(Exception):
                w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(10_000_000):  # bounded: a test never sends this many chunks
            data = await reader.read(65536)
            if not data:
                break
            for _ in range(100_000):  # while blackholed, hold the data (bounded wait)
                if not self.blackhole:
                    break
                await asyncio.sleep(0.05)
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            writer.write(data)
            await writer.drain()
