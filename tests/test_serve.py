"""`waitboard serve` as an operator runs it: separate processes, the embedded Redis, restarts."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.helpers import (
    OFFICE_PATH,
    ROOT,
    TIMEOUT,
    ServeProcess,
    auth,
    eventually,
    get_when,
    queue_of,
    receive_until,
)
from waitboard.settings import DEMO_CONFIG
from waitboard.store.embedded import EmbeddedRedis

StartServe = Callable[..., ServeProcess]


def post(base: str, path: str, device: str, json: dict | None = None) -> httpx.Response:
    return httpx.post(base + path, json=json, headers=auth(device), timeout=TIMEOUT)


async def test_restart_keeps_tickets_counters_and_numbering(
    serve_processes: StartServe, tmp_path: Path
) -> None:
    """Stop and start `waitboard serve` (embedded Redis, AOF): nothing is lost."""
    first = serve_processes()
    for queue in ("A", "A", "A", "B"):
        assert (
            post(
                first.url, "/api/v1/locations/sued/tickets", "terminal-sued", {"queue": queue}
            ).status_code
            == 201
        )
    assert (
        post(first.url, "/api/v1/locations/sued/counters/1/open", "counter-sued-1").status_code
        == 200
    )
    called = post(first.url, "/api/v1/locations/sued/counters/1/call-next", "counter-sued-1")
    assert called.status_code == 200
    async with httpx.AsyncClient(base_url=first.url, timeout=TIMEOUT) as http:
        before = (
            await get_when(
                http, "/api/v1/locations/sued", lambda r: bool(r.json()["calls"]), "the call"
            )
        ).json()
    assert first.stop() == 0
    assert not (tmp_path / "data" / "redis.sock").exists(), "embedded Redis still running"

    second = serve_processes()
    after = httpx.get(second.url + "/api/v1/locations/sued").json()
    assert [(q["id"], q["waiting"]) for q in after["queues"]] == [("A", 2), ("B", 1)]
    assert after["counters"] == before["counters"]  # open, with the called ticket
    assert after["calls"] == before["calls"] and after["epoch"] == before["epoch"]
    ticket = httpx.get(second.url + f"/api/v1/tickets/{called.json()['id']}").json()
    assert ticket["status"] == "called" and ticket["counter"] == "1"
    nxt = post(second.url, "/api/v1/locations/sued/tickets", "terminal-sued", {"queue": "A"})
    assert nxt.json()["number"] == "A004"  # numbering continues


async def test_two_processes_share_one_redis(
    serve_processes: StartServe, redis_server: EmbeddedRedis, redis: object
) -> None:
    """A ticket issued through one process shows on a WebSocket of the other."""
    env = {"WAITBOARD_REDIS_URL": redis_server.url}
    a, b = serve_processes(env), serve_processes(env)
    ws_url = b.url.replace("http://", "ws://") + "/ws/locations/sued"
    async with connect(ws_url, open_timeout=TIMEOUT) as ws:
        await receive_until(ws, lambda m: m["type"] == "snapshot", "snapshot from b")
        async with httpx.AsyncClient() as http:
            r = await http.post(
                a.url + "/api/v1/locations/sued/tickets",
                json={"queue": "A"},
                headers=auth("terminal-sued"),
            )
        assert r.status_code == 201
        snap = await receive_until(
            ws,
            lambda m: m["type"] == "snapshot" and queue_of(m, "A")["waiting"] == 1,
            "the ticket on b",
        )
        assert snap["location"]["id"] == "sued"


def run_serve(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "WAITBOARD_DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run(
        [sys.executable, "-m", "waitboard", "serve", *args, "--port", "0"],
        env=base,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_demo_tokens_and_a_missing_secret(tmp_path: Path) -> None:
    """WAITBOARD_ENV=production: no demo office, no public tokens, no missing secret."""
    no_secret = run_serve(tmp_path, {"WAITBOARD_ENV": "production"}, "--config", str(OFFICE_PATH))
    assert no_secret.returncode == 1
    assert "WAITBOARD_SECRET_KEY is required in production" in no_secret.stderr
    key = tmp_path / "vapid.pem"
    key.write_text("(the check refuses the demo before it reads the key)")
    production = {
        "WAITBOARD_ENV": "production",
        "WAITBOARD_SECRET_KEY": "s",
        "WAITBOARD_VAPID_PRIVATE_KEY_FILE": str(key),
    }
    demo = run_serve(tmp_path, production, "--demo")
    assert demo.returncode == 1
    assert "demo office cannot be served in production" in demo.stderr
    tokens = tmp_path / "office.toml"
    tokens.write_text(DEMO_CONFIG.read_text())  # the demo's devices under another name
    copied = run_serve(tmp_path, production, "--config", str(tokens))
    assert copied.returncode == 1
    assert "use a public demo token" in copied.stderr


def test_bad_config_is_reported_before_anything_starts(tmp_path: Path) -> None:
    """A broken configuration stops `serve` with every error and exit 1."""
    bad = tmp_path / "office.toml"
    bad.write_text(OFFICE_PATH.read_text().replace("service_minutes = 6", "service_minutes = 0"))
    out = run_serve(tmp_path, {}, "--config", str(bad))
    assert out.returncode == 1
    assert f"{bad}: location sued, queue A: service_minutes:" in out.stderr
    assert not (tmp_path / "data").exists()  # no Redis was started


def test_embedded_redis_failure_is_one_line(tmp_path: Path) -> None:
    """When the embedded Redis cannot start, one line says why."""
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    out = run_serve(tmp_path, {}, "--config", str(OFFICE_PATH))
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(
        "waitboard: cannot start the embedded Redis: cannot create data directory"
    )


def test_data_directory_in_use(tmp_path: Path) -> None:
    """A second embedded Redis on the same data is refused with the URL to share it."""
    with EmbeddedRedis(tmp_path / "data") as running:
        out = run_serve(tmp_path, {}, "--config", str(OFFICE_PATH))
        assert out.returncode == 1
        assert "is in use by another waitboard" in out.stderr
        assert f"WAITBOARD_REDIS_URL={running.url}" in out.stderr


@pytest.mark.parametrize("path", ["/", "/locations/mitte", "/screens/mitte", "/readyz"])
def test_demo_office_serves(serve_processes: StartServe, path: str) -> None:
    """`waitboard serve --demo` (what `make run` starts) serves its pages."""
    demo = serve_processes(args=("--demo",))
    r = httpx.get(demo.url + path, timeout=TIMEOUT)
    assert r.status_code == 200
    if path == "/":
        assert "Musterstadt" in r.text and "Demo-Daten" in r.text
        assert '<aside class="demo-badge">Demo-Daten' in r.text  # (a landmark of its own)


async def test_embedded_redis_stops_when_serve_is_killed(
    serve_processes: StartServe, tmp_path: Path
) -> None:
    """Even a SIGKILLed `waitboard serve` leaves no Redis behind."""
    proc = serve_processes()
    sock_path = tmp_path / "data" / "redis.sock"
    assert sock_path.exists()
    assert proc.proc is not None
    os.kill(proc.proc.pid, signal.SIGKILL)
    proc.proc.wait()

    def redis_gone() -> bool:
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(str(sock_path))
            except OSError:
                return True
            return False

    await eventually(redis_gone, "the embedded Redis to exit after its parent died")


async def test_logs_carry_no_addresses_tokens_or_ticket_ids(
    serve_processes: StartServe, redis_server: EmbeddedRedis, redis: object
) -> None:
    """After requests, WebSockets, a failed login and an application filed and deleted,
    the log holds no address, token, ticket id or application number - but does say
    which device deleted an application."""
    proc = serve_processes({"WAITBOARD_REDIS_URL": redis_server.url})
    async with httpx.AsyncClient(base_url=proc.url, timeout=TIMEOUT) as http:
        ticket = (
            await http.post(
                "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
            )
        ).json()
        await http.get(ticket["url"])
        await http.get(f"/api/v1/tickets/{ticket['id']}")
        await http.post(
            "/api/v1/locations/sued/tickets",
            json={"queue": "A"},
            headers={"Authorization": "Bearer wrong-secret-value"},
        )
        for path in ("/api/v1/applications", "/api/v1/applications/delete"):
            r = await http.post(path, json={"number": "LOG-2026-1"}, headers=auth("caseworker"))
            assert r.is_success, r.text
    async with connect(
        proc.url.replace("http", "ws") + "/ws/locations/sued", open_timeout=TIMEOUT
    ) as ws:
        await receive_until(ws, lambda m: m["type"] == "snapshot", "snapshot")
    proc.stop()
    log = proc.log_path.read_text()
    assert "route=/api/v1/tickets/{ticket_id}" in log  # requests are logged...
    assert "127.0.0.1:" not in log.replace(f"127.0.0.1:{proc.port}", "")  # ...without clients
    assert re.search(r"an application was deleted by hand.*device=caseworker", log), log
    for secret in (ticket["id"], "test-terminal-sued", "wrong-secret-value", "LOG-2026-1"):
        assert secret not in log


def test_a_wrong_log_level_is_refused(tmp_path: Path) -> None:
    """WAITBOARD_LOG_LEVEL=loud stops `serve` with the levels it accepts."""
    out = run_serve(tmp_path, {"WAITBOARD_LOG_LEVEL": "loud"}, "--config", str(OFFICE_PATH))
    assert out.returncode == 1
    assert "WAITBOARD_LOG_LEVEL='loud': use one of debug, info, warning, error" in out.stderr
    assert not (tmp_path / "data").exists()


async def test_log_level_warning_leaves_out_the_request_lines(
    serve_processes: StartServe, redis_server: EmbeddedRedis, redis: object
) -> None:
    """With WAITBOARD_LOG_LEVEL=warning the service answers but logs no request."""
    proc = serve_processes(
        {"WAITBOARD_REDIS_URL": redis_server.url, "WAITBOARD_LOG_LEVEL": "warning"}
    )
    async with httpx.AsyncClient(base_url=proc.url, timeout=TIMEOUT) as http:
        assert (await http.get("/api/v1/locations")).status_code == 200
    proc.stop()
    assert "route=" not in proc.log_path.read_text()
