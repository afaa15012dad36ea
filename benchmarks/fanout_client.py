"""One load process of benchmarks/fanout.py: many WebSocket clients, counted cheaply.

Run by the orchestrator with a JSON job on stdin; prints a JSON report on stdout. Clients
use picows (a compiled WebSocket client) and read only the ``"seq":`` of each frame, so
the load generator is not what is measured. A sample of clients records every frame's
(seq, receive time) for the latency figures; all of them count frames, gaps, duplicates
and drops. Every loop is bounded in count and time.

Protocols: ``waitboard`` and ``broadcaster`` send the snapshot JSON as a text frame;
``socketio`` speaks Engine.IO 4 (``0`` open, ``40`` connect, ``2``/``3`` ping/pong,
``42["snapshot", {...}]`` events).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

SEQ = b'"seq":'


def seq_of(payload: bytes) -> int | None:
    i = payload.find(SEQ)
    if i < 0:
        return None
    j = i + len(SEQ)
    k = j
    while k < len(payload) and 48 <= payload[k] <= 57:
        k += 1
    return int(payload[j:k]) if k > j else None


@dataclass
class Totals:
    frames: int = 0
    gaps: int = 0
    duplicates: int = 0
    disconnects: int = 0
    first_frame_s: list[float] = field(default_factory=list)  # connect -> first snapshot


class Client(WSListener):  # type: ignore[misc]
    def __init__(
        self, protocol: str, totals: Totals, trace: list[tuple[int, float]] | None, started: float
    ) -> None:
        self.protocol = protocol
        self.totals = totals
        self.trace = trace
        self.started = started
        self.last_seq = -1
        self.first = True
        self.closed_by_us = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            return
        payload = frame.get_payload_as_bytes()
        if self.protocol == "socketio":
            if payload[:1] == b"0":
                transport.send(WSMsgType.TEXT, b"40")
                return
            if payload == b"2":
                transport.send(WSMsgType.TEXT, b"3")
                return
            if payload[:2] != b"42":
                return
        if b'"type":"snapshot"' not in payload[:40] and self.protocol == "waitboard":
            return  # a heartbeat (it carries the seq too) or a stale notice
        seq = seq_of(payload)
        if seq is None:
            return
        now = time.time()
        totals = self.totals
        totals.frames += 1
        if self.first:
            totals.first_frame_s.append(now - self.started)
            self.first = False
        elif seq == self.last_seq:
            totals.duplicates += 1
        elif seq > self.last_seq + 1 and self.last_seq >= 0:
            totals.gaps += 1
        self.last_seq = max(self.last_seq, seq)
        if self.trace is not None:
            self.trace.append((seq, now))

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.closed_by_us:
            self.totals.disconnects += 1


def stalled_socket(host: str, port: int, path: str) -> socket.socket:
    """A client that completes the handshake and never reads again (a stuck phone)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.settimeout(10)
    sock.connect((host, port))
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    for _ in range(4096):
        if b"\r\n\r\n" in head:
            break
        head += sock.recv(1)
    return sock


async def run(job: dict[str, Any]) -> dict[str, Any]:
    totals = Totals()
    traces: dict[int, tuple[str, list[tuple[int, float]]]] = {}
    clients: list[tuple[WSTransport, Client]] = []
    n, rate = job["connections"], job["connect_per_s"]
    protocol, locations = job["protocol"], job["locations"]
    started = time.monotonic()

    async def connect_one(i: int) -> None:
        location = locations[(job["offset"] + i) % len(locations)]
        url = job["url"].format(location=location)
        trace = [] if i < job["sample"] and i not in traces else None
        for _ in range(5):  # bounded retries of a refused connect
            t0 = time.time()
            try:
                transport, client = await ws_connect(
                    lambda t0=t0: Client(protocol, totals, trace, t0),
                    url,
                    websocket_handshake_timeout=30,
                    enable_auto_ping=False,
                )
                if client is None:  # the handshake failed after connecting
                    raise ConnectionError("no listener")
                clients.append((transport, client))
                if trace is not None and i not in traces:  # a reconnect keeps the first
                    traces[i] = (location, trace)
                return
            except Exception:  # refused, reset, handshake timeout: retry
                await asyncio.sleep(0.2)

    tasks = []
    for i in range(n):
        await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(connect_one(i)))
    await asyncio.gather(*tasks)
    connected_after = time.monotonic() - started
    stalled = []
    if job.get("stalled"):
        host, port, path = job["stalled"]
        stalled = [stalled_socket(host, port, path) for _ in range(job["stalled_count"])]
    print(json.dumps({"ready": len(clients), "seconds": connected_after}), flush=True)

    # Measure until told to stop (a line on stdin), at most job["max_s"] seconds.
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    # "mark" starts the measured window (the changes begin), "cut" ends it (the changes
    # are over: a server still working off a backlog gets no credit for it beyond that);
    # "stop" or "reconnect" ends the run.
    frames_before = totals.frames
    measure_start = time.time()
    cut: tuple[int, float] | None = None
    command = b""
    for _ in range(4):
        with contextlib.suppress(TimeoutError):
            command = await asyncio.wait_for(reader.readline(), job["max_s"])
        if command.strip() == b"mark":
            frames_before, measure_start, cut = totals.frames, time.time(), None
        elif command.strip() == b"cut":
            cut = (totals.frames, time.time())
        else:
            break
    frames_end, measure_end = cut or (totals.frames, time.time())
    measured_s = measure_end - measure_start
    frames = frames_end - frames_before
    if command.strip() == b"reconnect":
        # The storm: everyone reconnects at once; time to the first snapshot each.
        for transport, client in clients:
            client.closed_by_us = True
            transport.disconnect()
        totals.first_frame_s.clear()
        clients.clear()
        storm_started = time.monotonic()
        spread = job.get("storm_s", 0.0)
        tasks = []
        for i in range(n):  # everyone within storm_s seconds
            await asyncio.sleep(max(0.0, storm_started + i * spread / n - time.monotonic()))
            tasks.append(asyncio.create_task(connect_one(i)))
        await asyncio.gather(*tasks)
        for _ in range(300):  # up to 30 s for the first snapshots
            if len(totals.first_frame_s) >= len(clients):
                break
            await asyncio.sleep(0.1)
        storm_s = time.monotonic() - storm_started
    else:
        storm_s = 0.0
    for transport, client in clients:
        client.closed_by_us = True
        transport.disconnect()
    for s in stalled:
        s.close()
    return {
        "connected": len(clients),
        "frames": frames,
        "measured_s": measured_s,
        "gaps": totals.gaps,
        "duplicates": totals.duplicates,
        "disconnects": totals.disconnects,
        "first_frame_s": totals.first_frame_s,
        "storm_s": storm_s,
        "traces": list(traces.values()),
    }


def main() -> None:
    job = json.loads(sys.stdin.readline())
    report = asyncio.run(run(job))
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
