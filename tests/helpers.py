"""What the tests share that is not a fixture: the test office's devices and tokens, one
timeout, waiting for conditions, a live server in this process or ``waitboard serve`` as a
process of its own, and offices on a clock the test sets. (Fixtures and pytest's hooks are
in conftest.py; the browser's helpers, which need Playwright, in tests/browser.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

from waitboard.app import create_app
from waitboard.cli import UVICORN_OPTIONS
from waitboard.core.office import Office, parse_office
from waitboard.live.hub import HubTiming
from waitboard.settings import Settings
from waitboard.store.keys import RATE_LIMIT_PREFIX

#: The one deadline for waiting on anything in the tests. Tests wait for conditions, not
#: for time; speed is measured in benchmarks/, not asserted here.
TIMEOUT = 10.0

ROOT = Path(__file__).resolve().parent.parent
OFFICE_PATH = Path(__file__).resolve().parent / "office.toml"

#: Faster timers than production, so the behaviours they drive show up within a test.
FAST = HubTiming(
    coalesce_s=0.05,
    heartbeat_s=1.0,
    drift_check_s=1.0,
    refresh_s=5.0,
    roll_day_s=5.0,
    ping_s=1.0,
    dead_after_s=4.0,
    overview_coalesce_s=0.1,
    send_timeout_s=1.0,
)


def token(device: str) -> str:
    """Test tokens are the device id prefixed with "test-" (see office.toml)."""
    return f"test-{device}"


def auth(device: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(device)}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def require_tool(name: str) -> str:
    """A tool the test needs: `make test` installs it, so in CI its absence is a failure."""
    path = shutil.which(name)
    if path is None:
        if in_ci():
            pytest.fail(f"{name} is not installed (make test installs it)")
        pytest.skip(f"{name} is not installed; `make test` installs it")
    return path


async def eventually(
    predicate: Callable[[], Awaitable[bool] | bool], what: str, timeout: float = TIMEOUT
) -> None:
    """Wait until ``predicate`` holds, polling; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for: {what}")
        await asyncio.sleep(0.02)


async def receive_until(
    ws: ClientConnection,
    predicate: Callable[[dict[str, Any]], bool],
    what: str,
    timeout: float = TIMEOUT,
) -> dict[str, Any]:
    """The first message on ``ws`` that satisfies ``predicate``."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for: {what}")
        try:
            raw = await asyncio.wait_for(ws.recv(), remaining)
        except TimeoutError:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for: {what}")
        message: dict[str, Any] = orjson.loads(raw)
        if predicate(message):
            return message


async def get_when(
    http: httpx.AsyncClient, path: str, predicate: Callable[[httpx.Response], bool], what: str
) -> httpx.Response:
    """GET ``path`` until the answer satisfies ``predicate``. Public reads come from the
    hub's live view, which follows a change within a moment, not within the same request."""
    answer: httpx.Response | None = None

    async def check() -> bool:
        nonlocal answer
        answer = await http.get(path)
        return predicate(answer)

    await eventually(check, what)
    assert answer is not None
    return answer


def waiting(snapshot: dict[str, Any]) -> dict[str, int]:
    return {q["id"]: q["waiting"] for q in snapshot["queues"]}


def queue_of(snapshot: dict[str, Any], queue: str) -> dict[str, Any]:
    return next(q for q in snapshot["queues"] if q["id"] == queue)


async def dataset(redis: Redis) -> dict[bytes, bytes | None]:
    """Every key and its serialised value: equal datasets mean nothing changed. Rate-limit
    buckets are left out: they are not the service's state, and counting a refused request
    (an unknown token, say) against its client is what they are for."""
    out: dict[bytes, bytes | None] = {}
    async for key in redis.scan_iter(count=1000):
        if not key.startswith(RATE_LIMIT_PREFIX.encode()):
            out[key] = await redis.dump(key)
    return out


#: A test's way to hand one line of measured figures to the end-of-run summary
#: (the ``report`` fixture).
Report = Callable[[str], None]


# --- a live server in this process ----------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    ws_url: str
    app: Any

    def ws(self, path: str, **kwargs: Any) -> Any:
        return connect(self.ws_url + path, open_timeout=TIMEOUT, **kwargs)


def settings_for(redis_url: str) -> Settings:
    # No public rate limit: tests poll; the limits have tests of their own.
    return Settings(
        config_path=OFFICE_PATH,
        redis_url=redis_url,
        secret_key="test-secret",
        data_dir=Path("var"),
        rate_limit=0,
    )


@contextlib.asynccontextmanager
async def live_server(
    redis_url: str,
    office: Office,
    timing: HubTiming = FAST,
    port: int | None = None,
    clock: Any = None,
    limits: Any = None,
    resolver: Any = None,
    **settings_changes: Any,
) -> AsyncIterator[LiveServer]:
    """waitboard on a real uvicorn, on a loopback port (a free one unless given), in this
    event loop; ``settings_changes`` override the test settings."""
    extra: dict[str, Any] = {"clock": clock} if clock is not None else {}
    if limits is not None:
        extra["limits"] = limits
    if resolver is not None:
        extra["resolver"] = resolver
    settings = dataclasses.replace(settings_for(redis_url), **settings_changes)
    app = create_app(settings, office=office, timing=timing, **extra)
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, **UVICORN_OPTIONS)
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    await eventually(lambda: srv.started or task.done(), "uvicorn to start")
    assert srv.started, "uvicorn did not start"
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", app)
    finally:
        srv.should_exit = True
        await asyncio.wait_for(task, TIMEOUT)


# --- `waitboard serve` as a separate process ------------------------------------------------


class ServeProcess:
    """``python -m waitboard serve`` in its own process group, as an operator runs it."""

    def __init__(
        self,
        tmp: Path,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"serve-{self.port}.log"
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("WAITBOARD_")}
        self.env = {
            **inherited,
            "WAITBOARD_DATA_DIR": str(tmp / "data"),
            "WAITBOARD_SECRET_KEY": "test-secret",
            "WAITBOARD_RATE_LIMIT": "0",
            **(env or {}),
        }
        self.args = args or ("--config", str(OFFICE_PATH))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServeProcess:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "waitboard", "serve", *self.args, "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 3 * TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"waitboard serve exited ({self.proc.returncode}):\n{self.log()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pytest.fail(f"waitboard serve did not become ready:\n{self.log()}")

    def stop(self) -> int:
        """SIGTERM, as an operator or systemd stops it; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(3 * TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                pytest.fail(f"waitboard serve did not stop on SIGTERM:\n{self.log()}")
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


# --- a service on a clock the test sets --------------------------------------------------

#: Jobcenter Süd keeps office hours on weekdays; Nord stays open around the clock.
WEEKDAYS = {day: "08:00-16:00" for day in ("mon", "tue", "wed", "thu", "fri")}
#: Saturday 28 November 2026, 10:00 in Berlin: Süd is closed until Monday 08:00.
SATURDAY = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
#: Monday 30 November 2026, 08:00 in Berlin: Süd has just opened.
MONDAY_8 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


class SettableClock:
    """The service's one clock, set by the test instead of waiting for real time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def office_with_sued(edit: Callable[[dict[str, Any]], object]) -> Office:
    """The test office with location sued changed by ``edit`` (on its TOML table)."""
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    edit(next(loc for loc in raw["locations"] if loc["id"] == "sued"))
    return parse_office(raw, source=str(OFFICE_PATH))


def serve_queues(sued: dict[str, Any], counter: str, queues: list[str]) -> None:
    """Counter ``counter`` of sued serves ``queues`` too (after its own)."""
    served = next(c for c in sued["counters"] if c["id"] == counter)
    served["queues"] = [*served["queues"], *queues]


def office_with_hours(hours: dict[str, str]) -> Office:
    """The test office with other opening hours for location sued."""
    return office_with_sued(lambda sued: sued.update(hours=hours))


#: The appointment plan of queue T at Süd in :func:`office_with_appointments`.
APPOINTMENT_PLAN: dict[str, Any] = {
    "walk_in_queue": "A",
    "slot_minutes": 20,
    "capacity": 3,
    "days_ahead": 14,
    "min_notice_minutes": 30,
    "early_minutes": 30,
    "late_minutes": 10,
    "call_ahead_minutes": 2,
    "hours": {d: "08:00-12:00" for d in WEEKDAYS},
    "closed": [date(2026, 12, 24)],
}


def office_with_appointments(location_hours: dict[str, str] | None = None, **plan: Any) -> Office:
    """The test office with queue T at Süd: appointments (weekdays 08:00-12:00, 20-minute
    slots, 3 places each), served by counter 2 after its walk-in queues; ``plan`` changes
    the plan. ``location_hours``: Süd's opening hours (default: around the clock)."""
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    sued = next(loc for loc in raw["locations"] if loc["id"] == "sued")
    if location_hours is not None:
        sued["hours"] = location_hours
    sued["queues"].append(
        {
            "id": "T",
            "name": "Termin",
            "name_en": "Appointment",
            "service_minutes": 15,
            "appointments": {**APPOINTMENT_PLAN, **plan},
        }
    )
    counter_2 = next(c for c in sued["counters"] if c["id"] == "2")
    counter_2["queues"] = [*counter_2["queues"], "T"]
    return parse_office(raw, source=str(OFFICE_PATH))
