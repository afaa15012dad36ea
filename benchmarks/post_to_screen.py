"""POST to screen, against the floor: how long from a ticket's POST until 1,000 lobby
screens show it, beside a bare `websockets` server that broadcasts a snapshot of the same
size at the same rate (no HTTP, no Redis: the floor).

Everything on loopback, in processes of its own: a Redis (the embedded one, TCP,
``appendfsync always``), the server pinned to core 0, the screens (benchmarks/
fanout_client.py, picows) and this driver pinned to core 1. One location, lived in like
fanout.py's (ten recent calls, a few waiting).

waitboard: a ticket is issued by HTTP POST ``--rate`` times a second (open loop, one after
the other); its stamp is the time just before the POST, and it is shown by the first
snapshot whose seq is at least the one its command made. The floor: the server makes the
change itself at the same rate, stamped just before its ``broadcast()``. Either way the
latency is, per sampled screen and change, the first frame showing the change minus the
stamp. Every loop is bounded in count and time; runs alternate floor, waitboard, ... so
that neighbours share the machine's mood.

    .venv/bin/python benchmarks/post_to_screen.py [--screens 1000] [--rate 10]
        [--seconds 20] [--windows 100,0] [--repeats 2] [--server-root DIR]
        [--appendfsync always|everysec] [--json F]

``--windows``: WAITBOARD_COALESCE_MS of each waitboard run ("default": the server's own);
``--server-root``: the checkout whose waitboard is measured (another commit, for an A/B).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from benchmarks.fanout import (
    LOAD_CORE,
    PY,
    READY_S,
    ROOT,
    SERVER_CORE,
    Load,
    WaitboardDriver,
    _pin,
    _pinned,
    environment,
    latencies,
    pct,
    start_server,
    stop,
    store_for,
)
from waitboard.core import snapshot
from waitboard.settings import load_office

LOCATION, QUEUE = "loc-00", "B"
TOKEN = "bench-reception-token"
SAMPLE = 200  # screens that record every frame's (seq, time)


@dataclass
class Result:
    server: str
    window: str
    screens: int
    rate: float
    connected: int = 0
    changes: int = 0
    frame_bytes: int = 0
    frames_per_s: float = 0.0
    p50_ms: float = float("nan")
    p90_ms: float = float("nan")
    p99_ms: float = float("nan")
    max_ms: float = float("nan")
    unseen: int = 0  # (sampled screen, change) pairs never shown before the end
    post_p50_ms: float = float("nan")  # the POST's own answer time (waitboard)
    post_p99_ms: float = float("nan")
    note: str = ""


def with_device(config: Path) -> None:
    """A reception device for the location, to issue tickets with."""
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    with config.open("a", encoding="utf-8") as f:
        f.write(
            f'\n[[devices]]\nid = "reception-bench"\nrole = "reception"\n'
            f'location = "{LOCATION}"\ntoken_sha256 = "{digest}"\n'
        )


def screens_job(url: str, protocol: str, screens: int, seconds: float) -> dict[str, Any]:
    return {
        "connections": screens,
        "connect_per_s": 2000,
        "protocol": protocol,
        "locations": [LOCATION],
        "offset": 0,
        "url": url,
        "sample": SAMPLE,
        "max_s": seconds + 60,
        "storm_s": 0.0,
        "stalled": None,
        "stalled_count": 0,
    }


def figures(
    result: Result,
    stamps: list[tuple[int, float]],
    report: dict[str, Any],
    since: float,
    until: float,
) -> Result:
    traces = [(loc, [(seq, t) for seq, t in trace]) for loc, trace in report["traces"]]
    made = [ms for _, ms in latencies({LOCATION: stamps}, traces, since, until)]
    result.changes = len(stamps)
    result.frames_per_s = report["frames"] / report["measured_s"] if report["measured_s"] else 0
    result.unseen = len(stamps) * len(traces) - len(made)
    if made:
        result.p50_ms, result.p90_ms = pct(made, 50), pct(made, 90)
        result.p99_ms, result.max_ms = pct(made, 99), max(made)
    return result


async def run_waitboard(
    env: Any, window: str, screens: int, rate: float, seconds: float, root: Path
) -> Result:
    tmp, _redis, redis_url, config = env
    office = load_office(config)
    result = Result("waitboard", window, screens, rate)
    extra = {} if window == "default" else {"WAITBOARD_COALESCE_MS": window}
    async with store_for(redis_url, office) as store:
        await store.redis.flushall()
        await WaitboardDriver(store, [LOCATION]).prepare()
        state = await store.location_state(LOCATION)
        template = snapshot.snapshot(office, office.location_by_id[LOCATION], state, store.clock())
        result.frame_bytes = len(orjson.dumps(template))
        server = start_server("waitboard", redis_url, config, tmp, extra, cwd=root)
        load = Load(screens_job(server.ws_url(), "waitboard", screens, seconds))
        stamps: list[tuple[int, float]] = []
        answers: list[float] = []
        try:
            result.connected = (await load.line(READY_S + screens / 500))["ready"]
            base = f"http://127.0.0.1:{server.port}"
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with httpx.AsyncClient(base_url=base, timeout=10, headers=headers) as http:
                (await http.get("/livez")).raise_for_status()  # the connection, opened
                await asyncio.sleep(1.0)  # first snapshots out
                load.tell("mark")
                seq = (await store.location_state(LOCATION)).seq
                since = time.time()
                t0 = time.monotonic() + 0.05
                for k in range(int(rate * seconds)):
                    await asyncio.sleep(max(0.0, t0 + k / rate - time.monotonic()))
                    sent = time.time()
                    answer = await http.post(
                        f"/api/v1/locations/{LOCATION}/tickets", json={"queue": QUEUE}
                    )
                    answers.append((time.time() - sent) * 1000)
                    if answer.status_code != 201:
                        raise RuntimeError(f"POST answered {answer.status_code}: {answer.text}")
                    seq += 1  # one command, one seq (checked below)
                    stamps.append((seq, sent))
                until = time.time()
            await asyncio.sleep(0.5)  # the last changes arrive
            load.tell("cut")
            load.tell("stop")
            report = await load.line(120)
            final = (await store.location_state(LOCATION)).seq
            if final != seq:
                result.note = f"seq {final} after the run, {seq} expected: stamps unreliable"
        finally:
            load.close()
            stop(server.proc)
    result.post_p50_ms, result.post_p99_ms = pct(answers, 50), pct(answers, 99)
    return figures(result, stamps, report, since, until)


async def run_floor(env: Any, screens: int, rate: float, seconds: float) -> Result:
    _tmp, _redis, redis_url, config = env
    office = load_office(config)
    result = Result("bare broadcast()", "-", screens, rate)
    async with store_for(redis_url, office) as store:
        await store.redis.flushall()
        await WaitboardDriver(store, [LOCATION]).prepare()
        state = await store.location_state(LOCATION)
        template = snapshot.snapshot(office, office.location_by_id[LOCATION], state, store.clock())
    result.frame_bytes = len(orjson.dumps(template))
    proc = subprocess.Popen(
        [PY, "-m", "benchmarks.baselines.bare_broadcast_server"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        preexec_fn=_pinned(SERVER_CORE),
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def say(line: dict[str, Any] | str) -> None:
        stdin.write((line if isinstance(line, str) else json.dumps(line)).encode() + b"\n")
        stdin.flush()

    async def hear(timeout_s: float) -> dict[str, Any]:
        raw = await asyncio.wait_for(asyncio.to_thread(stdout.readline), timeout_s)
        heard: dict[str, Any] = json.loads(raw)
        return heard

    load: Load | None = None
    try:
        say({"payload": template, "rate": rate, "count": int(rate * seconds)})
        port = (await hear(READY_S))["port"]
        load = Load(
            screens_job(f"ws://127.0.0.1:{port}/ws/{{location}}", "wsbroadcast", screens, seconds)
        )
        result.connected = (await load.line(READY_S + screens / 500))["ready"]
        await asyncio.sleep(1.0)
        load.tell("mark")
        since = time.time()
        say("go")
        stamps = [(int(s), float(t)) for s, t in (await hear(seconds + 60))["stamps"]]
        until = time.time()
        load.tell("cut")
        load.tell("stop")
        report = await load.line(120)
        say("stop")
    finally:
        if load is not None:
            load.close()
        stop(proc)
    return figures(result, stamps, report, since, until)


def table(results: list[Result]) -> str:
    floors = [r.p99_ms for r in results if r.server != "waitboard"]
    floor = sorted(floors)[len(floors) // 2] if floors else float("nan")
    head = (
        f"{'server':<18}{'window':>8}{'screens':>8}{'frames/s':>10}{'p50':>8}{'p90':>8}"
        f"{'p99':>8}{'max':>8}{'p99/floor':>10}{'POST p50':>9}{'p99':>6}{'unseen':>7}  bytes  note"
    )
    rows = [head]
    for r in results:
        rows.append(
            f"{r.server:<18}{r.window:>8}{r.connected:>8}{r.frames_per_s:>10.0f}"
            f"{r.p50_ms:>8.1f}{r.p90_ms:>8.1f}{r.p99_ms:>8.1f}{r.max_ms:>8.1f}"
            f"{r.p99_ms / floor:>10.2f}{r.post_p50_ms:>9.1f}{r.post_p99_ms:>6.0f}{r.unseen:>7}"
            f"  {r.frame_bytes:>5}"
            f"  {r.note}"
        )
    return "\n".join(rows)


async def main_async(args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    windows = [w.strip() for w in args.windows.split(",") if w.strip()]
    with environment(args.appendfsync) as env:
        with_device(env[3])
        for _ in range(args.repeats):
            results.append(await run_floor(env, args.screens, args.rate, args.seconds))
            print(table(results[-1:]).splitlines()[-1], flush=True)
            for window in windows:
                results.append(
                    await run_waitboard(
                        env, window, args.screens, args.rate, args.seconds, args.server_root
                    )
                )
                print(table(results[-1:]).splitlines()[-1], flush=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0].replace("\n", " "))
    ap.add_argument("--screens", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--windows", default="100,0", help='WAITBOARD_COALESCE_MS values, or "default"')
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--server-root", type=Path, default=ROOT)
    ap.add_argument(
        "--appendfsync",
        default="always",
        choices=["always", "everysec"],
        help="Redis's fsync policy: always (as shipped) puts the disk's fsync into every "
        "POST; everysec shows the rest of the path",
    )
    ap.add_argument("--json", type=Path, help="write every figure here")
    args = ap.parse_args()
    _pin(LOAD_CORE)
    results = asyncio.run(main_async(args))
    print()
    print(
        f"POST to screen: {args.screens} screens on one location, {args.rate:g} changes/s, "
        f"{args.seconds:g} s per run, Redis appendfsync {args.appendfsync}; ms from just "
        "before the change to the first frame showing it"
    )
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
