"""How long from a ticket being issued to every lobby screen showing it.

Starts an embedded Redis and `waitboard serve --demo` (separate processes, loopback only),
connects screens to one location, issues tickets at a fixed rate and records, per ticket,
the HTTP answer time and the time until each screen holds a snapshot that includes it.
Every loop is bounded in count and time.

    .venv/bin/python benchmarks/live_latency.py [--tickets 300] [--rate 20] [--screens 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
from websockets.asyncio.client import connect

from waitboard.store.embedded import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent
LOCATION, QUEUE, TOKEN = "mitte", "C", "demo-reception-mitte"
DEADLINE_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def screen(
    url: str,
    base_waiting: int,
    n: int,
    seen: list[float | None],
    ready: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    async with connect(url, open_timeout=10) as ws:
        ready.set()
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 1)
            except TimeoutError:
                continue
            msg = orjson.loads(raw)
            if msg["type"] != "snapshot":
                continue
            now = time.perf_counter()
            waiting = next(q["waiting"] for q in msg["queues"] if q["id"] == QUEUE)
            for k in range(min(n, waiting - base_waiting)):
                if seen[k] is None:
                    seen[k] = now


async def run(tickets: int, rate: float, screens: int) -> None:
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp, EmbeddedRedis(Path(tmp) / "r") as r:
        port = free_port()
        env = {**os.environ, "WAITBOARD_REDIS_URL": r.url, "WAITBOARD_DATA_DIR": tmp}
        proc = subprocess.Popen(
            [sys.executable, "-m", "waitboard", "serve", "--demo", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                for _ in range(100):
                    try:
                        if (await http.get("/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
                snap = (await http.get(f"/api/v1/locations/{LOCATION}")).json()
                base_waiting = next(q["waiting"] for q in snap["queues"] if q["id"] == QUEUE)
                seen = [[None] * tickets for _ in range(screens)]
                stop = asyncio.Event()
                readies = [asyncio.Event() for _ in range(screens)]
                tasks = [
                    asyncio.create_task(
                        screen(
                            base.replace("http", "ws") + f"/ws/locations/{LOCATION}",
                            base_waiting,
                            tickets,
                            seen[i],
                            readies[i],
                            stop,
                        )
                    )
                    for i in range(screens)
                ]
                await asyncio.wait_for(asyncio.gather(*(e.wait() for e in readies)), 10)
                sent, answered = [], []
                interval = 1 / rate
                t0 = time.perf_counter()
                for k in range(tickets):
                    # Open loop: ticket k is due at t0 + k * interval whatever happened before.
                    await asyncio.sleep(max(0.0, t0 + k * interval - time.perf_counter()))
                    sent.append(time.perf_counter())
                    r_ = await http.post(
                        f"/api/v1/locations/{LOCATION}/tickets",
                        json={"queue": QUEUE},
                        headers={"Authorization": f"Bearer {TOKEN}"},
                    )
                    assert r_.status_code == 201, r_.text
                    answered.append(time.perf_counter())
                deadline = time.perf_counter() + DEADLINE_S
                while time.perf_counter() < deadline and any(v is None for s in seen for v in s):
                    await asyncio.sleep(0.05)
                stop.set()
                await asyncio.gather(*tasks)
        finally:
            proc.terminate()
            proc.wait(30)
    http_ms = [(a - s) * 1000 for s, a in zip(sent, answered, strict=True)]
    live_ms = [(v - sent[k]) * 1000 for s in seen for k, v in enumerate(s) if v is not None]
    missing = sum(v is None for s in seen for v in s)
    print(
        f"{tickets} tickets at {rate:g}/s, {screens} screens on one location "
        f"(the server's coalescing window), {missing} updates missing"
    )
    print(f"{'measure':<34}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}  (ms)")
    for name, vals in (("POST answered", http_ms), ("POST sent -> screen shows it", live_ms)):
        print(
            f"{name:<34}"
            + "".join(f"{pct(vals, p):8.1f}" for p in (50, 90, 99))
            + f"{max(vals):8.1f}"
        )
    print(f"mean POST -> screen: {statistics.mean(live_ms):.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=300)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--screens", type=int, default=20)
    args = ap.parse_args()
    asyncio.run(run(args.tickets, args.rate, args.screens))


if __name__ == "__main__":
    main()
