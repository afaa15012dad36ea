"""Fan-out at scale: waitboard's hub against python-socketio, Starlette + broadcaster and
the websockets library's own server with broadcast().

Every run starts its own processes, on loopback only: a Redis (the embedded one, TCP,
``appendfsync always``), the server under test pinned to core 0, and the load - one
process of WebSocket clients (``fanout_client.py``, picows) and this driver - pinned to
core 1. Every loop is bounded in count and time.

The driver is open-loop: change k of a location is due at a fixed time whatever the
delivery does. For waitboard a change is a real command through the store (issue,
call-next, no-show: the Lua scripts the API runs); each is stamped with the time it was
sent (before the commit, so the latency includes the commit's fsync). For the baselines
the driver publishes the same snapshot JSON (same size, its own seq) through their Redis
channels, the way an application using them would. A sample of clients records
(seq, receive time) for every frame; the latency of a change is, per sampled client, the
first frame that shows it (a seq at least the change's) minus the change's stamp.
"current frames/s" counts, of the frames delivered, those that arrived within a second of
the change they show (the share measured on the sampled clients): a server whose clients
fall behind still delivers frames, but what they show is old.

    .venv/bin/python benchmarks/fanout.py                # every scenario (about 40 min)
    .venv/bin/python benchmarks/fanout.py --only matrix --connections 5000 --rates 50
    .venv/bin/python benchmarks/fanout.py --smoke        # 500 connections, 5 s (the test)

Prints a table per scenario and writes every figure as JSON (``--json``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psutil

from waitboard.core import snapshot
from waitboard.core.domain import Action
from waitboard.core.office import Office
from waitboard.settings import load_office
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.office_store import Store
from waitboard.store.redis import connect

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SERVER_CORE, LOAD_CORE = {0}, {1}
SERVERS = ("waitboard", "socketio", "broadcaster", "wsbroadcast")
READY_S = 60  # a server or the clients must be ready within this
PROBE_WAIT_S = 30  # beyond its run, for a CPU probe to report
# How long a backlog of 100 ms of work takes to be worked off: a request or change this
# close to a window in which the machine lost its CPUs is counted as under its shadow.
DRAIN_S = 0.3
LOCATIONS = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pin(cores: set[int]) -> None:
    with contextlib.suppress(OSError, AttributeError):
        if max(cores) < (os.cpu_count() or 1):
            os.sched_setaffinity(0, cores)


def _pinned(cores: set[int]) -> Any:
    def preexec() -> None:
        _pin(cores)
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    return preexec


def bench_office(n: int = LOCATIONS) -> str:
    """n locations like a real one: three queues, four counters (calls fill the snapshot)."""
    lines = ['timezone = "Europe/Berlin"']
    for i in range(n):
        lines += [
            "",
            "[[locations]]",
            f'id = "loc-{i:02d}"',
            f'name = "Jobcenter Musterstadt, Standort {i:02d}"',
            'hours = { mon = "00:00-23:59", tue = "00:00-23:59", wed = "00:00-23:59", '
            'thu = "00:00-23:59", fri = "00:00-23:59", sat = "00:00-23:59", '
            'sun = "00:00-23:59" }',
        ]
        for q, name in (("A", "Eingangszone"), ("B", "Leistung"), ("C", "Arbeitsvermittlung")):
            lines += [
                "  [[locations.queues]]",
                f'  id = "{q}"',
                f'  name = "{name}"',
                "  service_minutes = 6",
            ]
        for c in range(1, 5):
            lines += [
                "  [[locations.counters]]",
                f'  id = "{c}"',
                f'  name = "Schalter {c}"',
                '  queues = ["A", "B", "C"]',
            ]
    return "\n".join(lines) + "\n"


def cpu_of(process: psutil.Process) -> float:
    t = process.cpu_times()
    return float(t.user + t.system)


def pct(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- processes ------------------------------------------------------------------------------


@dataclass
class Server:
    kind: str
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.proc.pid)

    def ws_url(self) -> str:
        base = f"ws://127.0.0.1:{self.port}"
        return {
            "waitboard": base + "/ws/locations/{location}",
            "broadcaster": base + "/ws/{location}",
            "wsbroadcast": base + "/ws/{location}",
            "socketio": base + "/socket.io/?EIO=4&transport=websocket&location={location}",
        }[self.kind]

    def cpu_s(self) -> float:
        t = self.ps.cpu_times()
        return float(t.user + t.system)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)


def start_server(
    kind: str,
    redis_url: str,
    config: Path,
    tmp: Path,
    extra_env: dict[str, str] | None = None,
    cwd: Path = ROOT,
) -> Server:
    """``kind`` on a free port, pinned to the server core; ``cwd`` is the checkout whose
    waitboard runs (another commit's, for an A/B)."""
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "WAITBOARD_REDIS_URL": redis_url,
        "WAITBOARD_CONFIG": str(config),
        "WAITBOARD_DATA_DIR": str(tmp),
        "WAITBOARD_SECRET_KEY": "bench",
        "WAITBOARD_RATE_LIMIT": "0",
        "WAITBOARD_LOG_LEVEL": "warning",
        **(extra_env or {}),
    }
    if kind == "waitboard":
        cmd = [PY, "-m", "waitboard", "serve", "--port", str(port)]
    elif kind == "wsbroadcast":
        cmd = [PY, "-m", "benchmarks.baselines.wsbroadcast_server", "--port", str(port)]
    else:
        cmd = [
            PY,
            "-m",
            "uvicorn",
            f"benchmarks.baselines.{kind}_server:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--ws-per-message-deflate",
            "false",
        ]
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / f"{kind}-{port}.log", "wb"),  # noqa: SIM115
        preexec_fn=_pinned(SERVER_CORE),
    )
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited: {(tmp / f'{kind}-{port}.log').read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            time.sleep(0.5 if kind == "waitboard" else 0.3)  # lifespan, first reloads
            return Server(kind, port, proc)
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} did not start on port {port}")


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class CpuProbes:
    """``cpu_probe.py`` on every core for the length of a run: the windows in which this
    (virtual) machine lost its CPUs, merged over the cores."""

    def __init__(self, seconds: float) -> None:
        self.procs = [
            subprocess.Popen(
                [PY, str(ROOT / "benchmarks" / "cpu_probe.py"), str(seconds)],
                stdout=subprocess.PIPE,
                preexec_fn=_pinned(core),
            )
            for core in (SERVER_CORE, LOAD_CORE)
        ]

    def windows(self) -> list[tuple[float, float]]:
        """Monotonic [start, end] of every window that any core saw (waits for the end)."""
        found: list[tuple[float, float]] = []
        for proc in self.procs:
            out, _ = proc.communicate(timeout=PROBE_WAIT_S)
            with contextlib.suppress(ValueError, KeyError):
                found += [(a, b) for a, b, _ in json.loads(out)["windows"]]
        merged: list[list[float]] = []
        for a, b in sorted(found):
            if merged and a <= merged[-1][1] + 0.05:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return [(a, b) for a, b in merged]


class Load:
    """The client process: connects, reports ready, measures until told, reports."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.proc = subprocess.Popen(
            [PY, str(ROOT / "benchmarks" / "fanout_client.py")],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            preexec_fn=_pinned(LOAD_CORE),
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(job).encode() + b"\n")
        self.proc.stdin.flush()

    async def line(self, timeout_s: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), timeout_s)
        if not raw:
            raise RuntimeError("the load process ended without a report")
        result: dict[str, Any] = json.loads(raw)
        return result

    def tell(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        stop(self.proc)


# --- drivers --------------------------------------------------------------------------------


class Driver:
    """Open-loop changes; ``stamps[location]`` is a list of (seq, sent_at) per change."""

    def __init__(self, locations: list[str]) -> None:
        self.locations = locations
        self.stamps: dict[str, list[tuple[int, float]]] = {loc: [] for loc in locations}
        self.late: list[float] = []
        self.errors = 0

    async def change(self, location: str) -> None:
        raise NotImplementedError

    async def run(self, rate: float, seconds: float) -> None:
        """``rate`` changes per second in all for ``seconds``: change k is due at
        t0 + k / rate on location k mod n. A location's changes run in order (a command
        waits for the one before it); a command that is late is counted, not skipped."""
        total = max(1, int(rate * seconds))
        n = len(self.locations)
        t0 = time.monotonic() + 0.05

        async def one(j: int, location: str) -> None:
            for k in range(j, total, n):
                due = t0 + k / rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                self.late.append(max(0.0, time.monotonic() - due))
                try:
                    await self.change(location)
                except Exception:  # counted; an open loop goes on
                    self.errors += 1

        tasks = [asyncio.create_task(one(j, loc)) for j, loc in enumerate(self.locations)]
        _, pending = await asyncio.wait(tasks, timeout=seconds + 30)
        for task in pending:  # bounded in time, whatever the server does
            task.cancel()
            self.errors += 1


class WaitboardDriver(Driver):
    """issue, call-next, no-show, ... on each location: real commands, real snapshots."""

    def __init__(self, store: Store, locations: list[str]) -> None:
        super().__init__(locations)
        self.store = store
        self.step = dict.fromkeys(locations, 0)
        self.called: dict[str, str] = {}

    async def prepare(self) -> None:
        for loc in self.locations:
            await self.store.roll_day(loc)
            for counter in ("1", "2", "3", "4"):
                await self.store.set_counter(loc, counter, True)
            # A lived-in location: its ten recent calls (as many as a snapshot lists), so
            # a snapshot is as long at the start as during the run - the baselines send
            # the first one all along - and a few waiting.
            for _ in range(10):
                await self.store.issue(loc, "A", "bench")
                called = await self.store.call_next(loc, "1")
                assert called.ticket is not None
                await self.store.act(called.ticket.id, Action.NO_SHOW, counters=None)
            for q in ("A", "B", "C", "A", "B", "A"):
                await self.store.issue(loc, q, "bench")

    async def change(self, location: str) -> None:
        step = self.step[location] % 3
        self.step[location] += 1
        sent = time.time()
        if step == 0:
            outcome = await self.store.issue(location, "A", "bench")
        elif step == 1:
            outcome = await self.store.call_next(location, "1")
            if outcome.ticket is not None:
                self.called[location] = outcome.ticket.id
        else:
            ticket = self.called.pop(location, None)
            if ticket is None:
                return
            outcome = await self.store.act(ticket, Action.NO_SHOW, counters=None)
        assert outcome.location is not None
        self.stamps[location].append((outcome.location.seq, sent))


class PublishDriver(Driver):
    """The baselines: the application publishes the snapshot to the location's room."""

    def __init__(
        self, kind: str, redis_url: str, template: dict[str, Any], locations: list[str]
    ) -> None:
        super().__init__(locations)
        self.kind = kind
        self.template = template
        self.seq = dict.fromkeys(locations, 1000)
        if kind == "socketio":
            import socketio  # type: ignore[import-untyped]

            self.manager = socketio.AsyncRedisManager(redis_url, write_only=True)
        else:
            from redis.asyncio import Redis

            self.redis = Redis.from_url(redis_url)

    async def change(self, location: str) -> None:
        self.seq[location] += 1
        seq = self.seq[location]
        sent = time.time()
        data = {
            **self.template,
            "seq": seq,
            "location": {"id": location, "name": self.template["location"]["name"]},
        }
        if self.kind == "socketio":
            await self.manager.emit("snapshot", data, room=location)
        else:
            await self.redis.publish(location, orjson.dumps(data).decode())
        self.stamps[location].append((seq, sent))

    async def close(self) -> None:
        if self.kind == "socketio":
            with contextlib.suppress(Exception):
                await self.manager.redis.aclose()
        else:
            await self.redis.aclose()


# --- one run --------------------------------------------------------------------------------


@dataclass
class Run:
    server: str
    connections: int
    locations: int
    rate: float
    connected: int = 0
    frames_per_s: float = 0.0
    # frames/s times the share of sampled frames that arrived within CURRENT_S of their
    # change: what the screens got that was still news.
    current_frames_per_s: float = float("nan")
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    max_ms: float = float("nan")
    gaps: int = 0
    duplicates: int = 0
    dropped: int = 0
    cpu_pct: float = 0.0
    load_cpu_pct: float = 0.0  # the client process (on the load core)
    redis_cpu_pct: float = 0.0
    rss_per_conn_kb: float = 0.0
    storm_p99_ms: float = float("nan")
    storm_redis_commands: int = 0
    driver_errors: int = 0
    driver_late_p99_ms: float = 0.0
    stalled: int = 0
    frame_bytes: int = 0
    machine_lost_cpu_ms: float = 0.0  # windows in which the host took the CPUs (cpu_probe)
    # p99 of the changes made farther than DRAIN_S from any such window, and their share.
    p99_clear_ms: float = float("nan")
    clear_share: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def latencies(
    stamps: dict[str, list[tuple[int, float]]],
    traces: list[tuple[str, list[tuple[int, float]]]],
    since: float,
    until: float,
) -> list[tuple[float, float]]:
    """Per sampled client and change made in [since, until): (when the change was made,
    ms to the first frame showing it)."""
    out: list[tuple[float, float]] = []
    for location, trace in traces:
        changes = [(s, t) for s, t in stamps.get(location, []) if since <= t < until]
        if not changes or not trace:
            continue
        trace = sorted(trace, key=lambda x: x[1])
        j, best = 0, -1
        # Walk the frames in time order, keeping the highest seq seen so far.
        seen: list[tuple[int, float]] = []
        for seq, t in trace:
            if seq > best:
                best = seq
                seen.append((best, t))
        for seq, sent in sorted(changes):
            while j < len(seen) and seen[j][0] < seq:
                j += 1
            if j == len(seen):
                break  # not shown before the end of the run
            out.append((sent, max(0.0, seen[j][1] - sent) * 1000))
    return out


#: A frame counts as current if it arrives within this long of the change it shows.
CURRENT_S = 1.0


def current_share(
    stamps: dict[str, list[tuple[int, float]]],
    traces: list[tuple[str, list[tuple[int, float]]]],
    since: float,
    until: float,
) -> float:
    """Of the sampled clients' frames that arrived in [since, until) and show a change
    made in the run, the share that arrived within CURRENT_S of that change."""
    sent_at = {loc: dict(changes) for loc, changes in stamps.items()}
    current = counted = 0
    for location, trace in traces:
        made = sent_at.get(location, {})
        for seq, t in trace:
            sent = made.get(seq)
            if sent is None or not since <= t < until:
                continue
            counted += 1
            current += t - sent <= CURRENT_S
    return current / counted if counted else float("nan")


@contextlib.contextmanager
def environment(appendfsync: str = "always") -> Iterator[tuple[Path, EmbeddedRedis, str, Path]]:
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="wbfan") as tmp_s:
        tmp = Path(tmp_s)
        config = tmp / "office.toml"
        config.write_text(bench_office(), encoding="utf-8")
        redis_port = free_port()
        with EmbeddedRedis(
            tmp / "r", tcp_port=redis_port, extra_args=("--appendfsync", appendfsync)
        ) as r:
            yield tmp, r, f"redis://127.0.0.1:{redis_port}/0", config


@contextlib.asynccontextmanager
async def store_for(redis_url: str, office: Office) -> AsyncIterator[Store]:
    client = connect(redis_url, max_connections=64)
    try:
        yield Store(client, office)
    finally:
        await client.aclose()


async def one_run(
    kind: str,
    env: tuple[Path, EmbeddedRedis, str, Path],
    *,
    connections: int,
    locations: int,
    rate: float,
    seconds: float,
    sample: int = 200,
    stalled_share: float = 0.0,
    storm: bool = False,
    hubs: int = 1,
    server_env: dict[str, str] | None = None,
    profile: Path | None = None,
) -> Run:
    tmp, redis, redis_url, config = env
    office = load_office(config)
    locs = [loc.id for loc in office.locations[:locations]]
    run = Run(kind, connections, locations, rate)
    async with store_for(redis_url, office) as store:
        await store.redis.flushall()
        wb = WaitboardDriver(store, locs)
        await wb.prepare()
        state = await store.location_state(locs[0])
        template = snapshot.snapshot(office, office.location_by_id[locs[0]], state, store.clock())
        run.frame_bytes = len(orjson.dumps(template))
        servers = [
            start_server(kind, redis_url, config, tmp, server_env)
            for _ in range(hubs if kind == "waitboard" else 1)
        ]
        driver: Driver = (
            wb if kind == "waitboard" else PublishDriver(kind, redis_url, template, locs)
        )
        loads: list[Load] = []
        try:
            rss0 = sum(s.rss() for s in servers)
            per = connections // len(servers)
            stalled_n = int(connections * stalled_share)
            for i, srv in enumerate(servers):
                loads.append(
                    Load(
                        {
                            "connections": per,
                            "connect_per_s": 2000,
                            "protocol": kind,
                            "locations": locs,
                            "offset": i,
                            "url": srv.ws_url(),
                            "sample": sample // len(servers),
                            "max_s": seconds + 60,
                            "storm_s": 5.0,
                            "stalled": [
                                "127.0.0.1",
                                srv.port,
                                srv.ws_url().format(location=locs[0]).split(str(srv.port), 1)[1],
                            ]
                            if stalled_n
                            else None,
                            "stalled_count": stalled_n // len(servers),
                        }
                    )
                )
            ready = [await load.line(READY_S + connections / 500) for load in loads]
            run.connected = sum(r["ready"] for r in ready)
            run.stalled = stalled_n
            await asyncio.sleep(1.0)  # first snapshots out, memory settled
            run.rss_per_conn_kb = (
                (sum(s.rss() for s in servers) - rss0) / 1024 / max(1, run.connected + stalled_n)
            )
            for load in loads:
                load.tell("mark")
            others = [psutil.Process(load.proc.pid) for load in loads]
            redis_ps = psutil.Process(redis.process.pid) if redis.process else None
            load0 = sum(cpu_of(p) for p in others)
            redis0 = cpu_of(redis_ps) if redis_ps else 0.0
            cpu0, t0, wall0 = sum(s.cpu_s() for s in servers), time.time(), time.monotonic()
            spy = None
            if profile is not None:  # the server sampled while the changes run
                spy = subprocess.Popen(
                    profiler_command(profile, servers[0].proc.pid, seconds),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            probes = CpuProbes(seconds)
            if rate > 0:
                await driver.run(rate, seconds)
            else:
                await asyncio.sleep(seconds)
            for load in loads:
                load.tell("cut")  # frames/s counts what arrived while the changes were made
            t1 = time.time()
            wall = time.monotonic() - wall0
            lost = await asyncio.to_thread(probes.windows)
            wall_offset = time.time() - time.monotonic()  # the probes count monotonic time
            lost_wall = [(a + wall_offset, b + wall_offset) for a, b in lost]
            run.machine_lost_cpu_ms = round(1000 * sum(b - a for a, b in lost))
            run.cpu_pct = 100 * (sum(s.cpu_s() for s in servers) - cpu0) / wall
            run.load_cpu_pct = 100 * (sum(cpu_of(p) for p in others) - load0) / wall
            if redis_ps:
                run.redis_cpu_pct = 100 * (cpu_of(redis_ps) - redis0) / wall
            await asyncio.sleep(0.5)  # the last changes arrive
            if spy is not None:
                spy.wait(30)
                print(hot_spots(profile), flush=True)  # type: ignore[arg-type]
            redis_before = 0
            if storm:
                info = await store.redis.info("stats")
                redis_before = int(info["total_commands_processed"])
            for load in loads:
                load.tell("reconnect" if storm else "stop")
            reports = [await load.line(120) for load in loads]
            if storm:
                info = await store.redis.info("stats")
                run.storm_redis_commands = int(info["total_commands_processed"]) - redis_before
            if kind == "waitboard":
                run.extra["reloads"] = hub_reloads(servers)
        finally:
            for load in loads:
                load.close()
            for srv in servers:
                stop(srv.proc)
            if isinstance(driver, PublishDriver):
                await driver.close()
    frames = sum(r["frames"] for r in reports)
    measured = max(r["measured_s"] for r in reports)
    run.frames_per_s = frames / measured if measured else 0.0
    traces: list[tuple[str, list[tuple[int, float]]]] = [
        (location, [(seq, t) for seq, t in trace])
        for r in reports
        for location, trace in r["traces"]
    ]
    made = latencies(driver.stamps, traces, t0, t1)
    run.current_frames_per_s = run.frames_per_s * current_share(driver.stamps, traces, t0, t1)
    lat = [ms for _, ms in made]
    if lat:
        run.p50_ms, run.p99_ms, run.max_ms = pct(lat, 50), pct(lat, 99), max(lat)
    clear = [
        ms for sent, ms in made if not any(a - DRAIN_S < sent < b + DRAIN_S for a, b in lost_wall)
    ]
    if clear:
        run.p99_clear_ms, run.clear_share = pct(clear, 99), len(clear) / len(lat)
    run.gaps = sum(r["gaps"] for r in reports)
    run.duplicates = sum(r["duplicates"] for r in reports)
    run.dropped = sum(r["disconnects"] for r in reports)
    firsts = [x for r in reports for x in r["first_frame_s"]]
    if storm:
        run.storm_p99_ms = pct(firsts, 99) * 1000
        run.extra["storm_clients_with_snapshot"] = len(firsts)
    run.driver_errors = driver.errors
    run.driver_late_p99_ms = pct(driver.late, 99) * 1000 if driver.late else 0.0
    return run


def hub_reloads(servers: list[Server]) -> dict[str, float]:
    """waitboard's reloads of location state from Redis, by reason (its /metrics)."""
    out: dict[str, float] = {}
    for srv in servers:
        with socket.create_connection(("127.0.0.1", srv.port), 5) as sock:
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            for _ in range(1000):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        for line in data.decode(errors="replace").splitlines():
            if line.startswith("waitboard_hub_reloads_total{"):
                reason = line.split('reason="', 1)[1].split('"', 1)[0]
                out[reason] = out.get(reason, 0.0) + float(line.rsplit(" ", 1)[1])
            elif line.startswith("waitboard_ws_dropped_slow_total "):
                out["dropped_slow"] = out.get("dropped_slow", 0.0) + float(line.split()[1])
    return out


def profiler_command(profile: Path, pid: int, seconds: float) -> list[str]:
    """py-spy for Python's view (``*.txt``), perf for the kernel's as well (``*.data``)."""
    if profile.suffix == ".data":
        return ["perf", "record", "-F", "997", "-g", "-p", str(pid), "-o", str(profile),
                "--", "sleep", str(seconds)]  # fmt: skip
    return ["py-spy", "record", "-p", str(pid), "-d", str(int(seconds)), "-f", "raw",
            "-o", str(profile), "--nonblocking"]  # fmt: skip


def hot_spots(profile: Path, top: int = 12) -> str:
    """The functions where the server spent its samples, by own time."""
    if profile.suffix == ".data":
        report = subprocess.run(
            ["perf", "report", "-i", str(profile), "--no-children", "--sort", "sym",
             "--stdio", "-g", "none", "--percent-limit", "1"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        rows = [line for line in report.stdout.splitlines() if line.strip()[:1].isdigit()]
        return "profile (share of samples, own time):\n" + "\n".join(rows[:top])
    own: dict[str, int] = {}
    total = 0
    with contextlib.suppress(FileNotFoundError):
        for line in profile.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            total += int(n)
            leaf = stack.rsplit(";", 1)[-1]
            own[leaf] = own.get(leaf, 0) + int(n)
    rows = sorted(own.items(), key=lambda kv: -kv[1])[:top]
    return "profile (share of samples, own time):\n" + "\n".join(
        f"  {100 * n / max(1, total):5.1f}%  {leaf}" for leaf, n in rows
    )


# --- ingest ---------------------------------------------------------------------------------


def steal_ms(core: int) -> float:
    """Time the hypervisor gave the core to someone else (steal, /proc/stat), in ms: on a
    virtual machine the server can stop for a while without doing anything itself."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{core} "):
                return int(line.split()[8]) * 1000 / os.sysconf("SC_CLK_TCK")
    return 0.0


async def ingest(
    env: tuple[Path, EmbeddedRedis, str, Path], rate: float, seconds: float
) -> dict[str, float]:
    """Ticket issue over HTTP at a fixed rate (open loop), keep-alive connections."""
    tmp, _, redis_url, config = env
    office = load_office(config)
    token = "bench-reception-token"
    digest = hashlib.sha256(token.encode()).hexdigest()
    config2 = tmp / "office-ingest.toml"
    config2.write_text(
        config.read_text() + f'\n[[devices]]\nid = "bench-reception"\n'
        f'role = "admin"\ntoken_sha256 = "{digest}"\n',
        encoding="utf-8",
    )
    async with store_for(redis_url, office) as store:
        await store.redis.flushall()
        # What Redis itself spends: its latency monitor records every fsync of the
        # append-only file slower than the threshold, and the scripts' time per call.
        await store.redis.config_set("latency-monitor-threshold", 5)
        await store.redis.execute_command("LATENCY", "RESET")
        await store.redis.config_resetstat()
    srv = start_server(
        "waitboard",
        redis_url,
        config2,
        tmp,
        {"PYTHONPATH": os.environ["GCPROBE"]} if "GCPROBE" in os.environ else None,
    )
    locs = [loc.id for loc in office.locations]
    body = b'{"queue":"A"}'
    latencies_ms: list[float] = []
    answered: list[tuple[float, float]] = []  # (due, answered), monotonic
    sent_late_ms: list[float] = []
    slow_at: list[float] = []
    errors = 0
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", srv.port))

    async def post(k: int, due: float) -> None:
        nonlocal errors
        reader, writer = await pool.get()
        loc = locs[k % len(locs)]
        # How late the load itself sends (its own loop, a free connection): part of every
        # latency measured here, and not the server's.
        sent_late_ms.append((time.monotonic() - due) * 1000)
        try:
            writer.write(
                f"POST /api/v1/locations/{loc}/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            length = int(
                next(
                    line.split(b":")[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
            )
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 201"):
                errors += 1
            latencies_ms.append((time.monotonic() - due) * 1000)
            answered.append((due, time.monotonic()))
            if latencies_ms[-1] > 50:
                slow_at.append(round(due - t0, 1))
        finally:
            pool.put_nowait((reader, writer))

    cpu0 = srv.cpu_s()
    steal0 = steal_ms(SERVER_CORE)
    t0 = time.monotonic() + 0.1
    tasks = []
    load_stalls: list[tuple[float, float]] = []

    async def watch_own_loop() -> None:
        # A stall of the load's own loop delays the reading of answers as much as a
        # stall of the server: it is measured so that the two are not confused.
        last = time.monotonic()
        while last < t0 + seconds + 1:
            await asyncio.sleep(0.002)
            now = time.monotonic()
            if now - last > 0.015:
                load_stalls.append((round(last - t0, 2), round((now - last) * 1000, 1)))
            last = now

    watcher = asyncio.create_task(watch_own_loop())
    probes = CpuProbes(seconds + 1)
    try:
        for k in range(int(rate * seconds)):
            due = t0 + k / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(post(k, due)))
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        watcher.cancel()
        cpu = 100 * (srv.cpu_s() - cpu0) / (time.monotonic() - t0)
        stolen = steal_ms(SERVER_CORE) - steal0
        lost = [(a, b) for a, b in probes.windows() if b > t0 and a < t0 + seconds]
    finally:
        while not pool.empty():
            _, w = pool.get_nowait()
            w.close()
        stop(srv.proc)
    async with store_for(redis_url, office) as store:
        fsync = await store.redis.execute_command("LATENCY", "HISTORY", "aof-fsync-always")
        stats = await store.redis.info("commandstats")
        latest = await store.redis.execute_command("LATENCY", "LATEST")
    slow_fsyncs = [int(ms) for _, ms in fsync]
    evalsha = stats.get("cmdstat_evalsha", {})
    # The requests not under way during any window in which the machine had lost its CPUs
    # (those that came just after one and waited behind its backlog are among them).
    clear = [
        (end - due) * 1000 for due, end in answered if not any(a < end and due < b for a, b in lost)
    ]
    # And those due farther than DRAIN_S from any such window, when the backlog of the
    # requests that arrived meanwhile has been worked off.
    beyond = [
        (end - due) * 1000
        for due, end in answered
        if not any(a - DRAIN_S < due < b + DRAIN_S for a, b in lost)
    ]
    return {
        "rate": rate,
        "requests": len(latencies_ms),
        "errors": errors,
        "p50_ms": pct(latencies_ms, 50),
        "p99_ms": pct(latencies_ms, 99),
        "max_ms": max(latencies_ms),
        "server_cpu_pct": cpu,
        "load_sent_late_p99_ms": pct(sent_late_ms, 99),
        "slow_at_s": sorted(set(slow_at)),
        "server_core_stolen_ms": stolen,
        "load_loop_stalls": load_stalls,
        "machine_lost_cpu_at_s": [round(a - t0, 2) for a, _ in lost],
        "machine_lost_cpu_ms": round(sum(b - a for a, b in lost) * 1000),
        "requests_clear_of_those": len(clear),
        "p99_clear_ms": pct(clear, 99),
        "requests_beyond_their_backlog": len(beyond),
        "p99_beyond_ms": pct(beyond, 99),
        "redis_script_us_per_call": float(evalsha.get("usec_per_call", 0)),
        "redis_fsyncs_over_5ms": len(slow_fsyncs),
        "redis_slowest_fsync_ms": max(slow_fsyncs, default=0),
        "redis_latency_events": {str(e[0]): int(e[3]) for e in latest},
    }


# --- scenarios and report -------------------------------------------------------------------


def table(title: str, runs: list[Run]) -> str:
    cols = (
        "server",
        "conns",
        "locs",
        "chg/s",
        "frames/s",
        "current frames/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "server cpu %",
        "load cpu %",
        "redis cpu %",
        "KB/conn",
        "dropped",
        "gaps",
        "machine lost ms",
        "p99 clear of it ms (share)",
    )
    rows = [" | ".join(cols), " | ".join("---" for _ in cols)]
    for r in runs:
        rows.append(
            " | ".join(
                str(v)
                for v in (
                    r.server,
                    r.connected,
                    r.locations,
                    f"{r.rate:g}",
                    f"{r.frames_per_s:,.0f}",
                    f"{r.current_frames_per_s:,.0f}",
                    f"{r.p50_ms:.1f}",
                    f"{r.p99_ms:.1f}",
                    f"{r.max_ms:.1f}",
                    f"{r.cpu_pct:.0f}",
                    f"{r.load_cpu_pct:.0f}",
                    f"{r.redis_cpu_pct:.0f}",
                    f"{r.rss_per_conn_kb:.1f}",
                    r.dropped,
                    r.gaps,
                    f"{r.machine_lost_cpu_ms:.0f}",
                    f"{r.p99_clear_ms:.1f} ({100 * r.clear_share:.0f}%)",
                )
            )
        )
    return f"\n### {title}\n\n" + "\n".join("| " + row + " |" for row in rows) + "\n"


def median_ratio(a: list[Run], b: list[Run], attr: str) -> float:
    pairs = [
        getattr(x, attr) / getattr(y, attr) for x, y in zip(a, b, strict=False) if getattr(y, attr)
    ]
    return statistics.median(pairs) if pairs else float("nan")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"runs": [], "ingest": []}
    servers = [s for s in args.servers.split(",") if s]

    def record(title: str, runs: list[Run]) -> None:
        print(table(title, runs), flush=True)
        for r in runs:
            if r.extra:
                print(f"  {r.server}: {r.extra}")
            if r.storm_redis_commands:
                print(
                    f"  storm: p99 connect -> first snapshot {r.storm_p99_ms:.0f} ms; "
                    f"{r.storm_redis_commands} Redis commands during the storm"
                )
        results["runs"] += [{"scenario": title, **asdict(r)} for r in runs]

    with environment(args.appendfsync) as env:
        if args.smoke:
            runs = [
                await one_run("waitboard", env, connections=500, locations=1, rate=10, seconds=5)
            ]
            record("smoke: 500 connections, one location, 10 changes/s, 5 s", runs)
            return results
        only = set(args.only.split(",")) if args.only else None

        def wanted(name: str) -> bool:
            return only is None or name in only

        if wanted("idle"):
            record(
                "10k idle connections (heartbeats only)",
                [
                    await one_run(
                        "waitboard",
                        env,
                        connections=10_000,
                        locations=LOCATIONS,
                        rate=0,
                        seconds=20,
                        sample=0,
                    )
                ],
            )
        if wanted("matrix"):
            coalesce = {"WAITBOARD_COALESCE_MS": str(args.coalesce_ms)}
            for conns in [int(c) for c in args.connections.split(",")]:
                for rate in [float(x) for x in args.rates.split(",")]:
                    for locations in [int(n) for n in args.locations.split(",")]:
                        runs: list[Run] = []
                        for rep in range(args.repeats):  # A B A B: alternating
                            order = servers if rep % 2 == 0 else servers[::-1]
                            for kind in order:
                                runs.append(
                                    await one_run(
                                        kind,
                                        env,
                                        connections=conns,
                                        locations=locations,
                                        rate=rate,
                                        seconds=args.seconds,
                                        server_env=coalesce,
                                        profile=args.profile
                                        and args.profile
                                        / (
                                            f"{kind}-{conns}-{rate:g}-{locations}-{rep}"
                                            f".{'data' if args.profiler == 'perf' else 'txt'}"
                                        ),
                                    )
                                )
                        runs.sort(key=lambda r: servers.index(r.server))
                        record(
                            f"{conns} connections, {rate:g} changes/s on {locations} location(s)",
                            runs,
                        )
                        by = {k: [r for r in runs if r.server == k] for k in servers}
                        for other in servers[1:]:
                            if by.get(other) and by.get("waitboard"):
                                fps = median_ratio(by["waitboard"], by[other], "frames_per_s")
                                cur = median_ratio(
                                    by["waitboard"], by[other], "current_frames_per_s"
                                )
                                p99 = median_ratio(by["waitboard"], by[other], "p99_ms")
                                print(
                                    f"median ratio waitboard/{other}: frames/s {fps:.2f}x, "
                                    f"current frames/s {cur:.2f}x, p99 {p99:.2f}x"
                                )
        if wanted("stalled"):
            # A B A B: without and with 50 clients that stop reading after the handshake;
            # long enough for their buffers to fill and the hub to drop them.
            runs = []
            for share in (0.0, 0.01, 0.0, 0.01):
                runs.append(
                    await one_run(
                        "waitboard",
                        env,
                        connections=5000,
                        locations=1,
                        rate=10,
                        seconds=3 * args.seconds,
                        stalled_share=share,
                    )
                )
            record(
                "1% stalled clients (5000 connections, 10 changes/s; rows 2 and 4 with 50 stalled)",
                runs,
            )
            healthy = statistics.median(r.p99_ms for r in runs if not r.stalled)
            stalled = statistics.median(r.p99_ms for r in runs if r.stalled)
            print(f"p99 of the others with 1% stalled: {stalled / healthy:.2f}x without")
        if wanted("storm"):
            record(
                "reconnect storm: 5000 clients within 5 s",
                [
                    await one_run(
                        "waitboard",
                        env,
                        connections=5000,
                        locations=LOCATIONS,
                        rate=5,
                        seconds=5,
                        storm=True,
                    )
                ],
            )
        if wanted("hubs"):
            record(
                "two hub processes on one Redis (both on core 0)",
                [
                    await one_run(
                        "waitboard",
                        env,
                        connections=5000,
                        locations=1,
                        rate=10,
                        seconds=args.seconds,
                        hubs=2,
                    )
                ],
            )
        if wanted("ingest"):
            for rate in (100, 500):
                result = await ingest(env, rate, args.seconds)
                print(
                    f"\ningest {rate}/s: "
                    + ", ".join(
                        f"{k} {v:.1f}" if isinstance(v, float | int) else f"{k} {v}"
                        for k, v in result.items()
                    ),
                    flush=True,
                )
                results["ingest"].append(result)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0].replace("\n", " "))
    ap.add_argument(
        "--only", default="", help="comma-separated: idle, matrix, stalled, storm, hubs, ingest"
    )
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--connections", default="1000,5000,10000")
    ap.add_argument("--rates", default="1,10,50")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument(
        "--appendfsync",
        default="always",
        choices=["always", "everysec"],
        help="Redis's fsync policy (the goals are measured with always; "
        "everysec shows what the disk's fsync costs)",
    )
    ap.add_argument(
        "--coalesce-ms",
        type=int,
        default=100,
        help="waitboard's coalescing window in the matrix (WAITBOARD_COALESCE_MS)",
    )
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument(
        "--profile", type=Path, help="a directory: py-spy profiles of the server in the matrix runs"
    )
    ap.add_argument(
        "--profiler",
        default="py-spy",
        choices=["py-spy", "perf"],
        help="py-spy: Python functions; perf: the kernel's functions too (system calls)",
    )
    ap.add_argument(
        "--locations",
        default=f"1,{LOCATIONS}",
        help="the matrix's changes go to this many locations (comma-separated)",
    )
    ap.add_argument("--json", type=Path, help="write every figure here")
    args = ap.parse_args()
    _pin(LOAD_CORE)
    results = asyncio.run(main_async(args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
