"""Redis goes away and comes back: clear 503s meanwhile, full recovery after."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.helpers import TIMEOUT, Report, auth, eventually, live_server, queue_of, receive_until
from waitboard.core.office import Office
from waitboard.store.embedded import EmbeddedRedis


async def test_outage_answers_503_and_recovers(
    tmp_path: Path, office: Office, report: Report
) -> None:
    """Redis stopped: /readyz and commands answer 503 problem+json; restarted: all works,
    and the screens get the state again."""
    data = tmp_path / "redis"
    redis = EmbeddedRedis(data).start()
    try:
        async with (
            live_server(redis.url, office) as srv,
            httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
        ):
            issued = await http.post(
                "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
            )
            assert issued.status_code == 201
            async with srv.ws("/ws/locations/sued") as ws:
                await receive_until(
                    ws,
                    lambda m: m["type"] == "snapshot" and queue_of(m, "A")["waiting"] == 1,
                    "the ticket",
                )
                redis.stop()

                asked = time.monotonic()
                ready = await http.get("/readyz")
                assert ready.status_code == 503
                assert ready.headers["content-type"] == "application/problem+json"
                r = await http.post(
                    "/api/v1/locations/sued/tickets",
                    json={"queue": "A"},
                    headers=auth("terminal-sued"),
                )
                assert r.status_code == 503 and r.headers["retry-after"]
                assert "same Idempotency-Key" in r.json()["detail"]
                refused_s = time.monotonic() - asked

                redis = EmbeddedRedis(data).start()  # same data, same socket
                restarted = time.monotonic()
                await eventually(lambda: _ready(http), "/readyz to answer 200 again")
                ready_s = time.monotonic() - restarted
                r = await http.post(
                    "/api/v1/locations/sued/tickets",
                    json={"queue": "A"},
                    headers=auth("terminal-sued"),
                )
                assert r.status_code == 201 and r.json()["number"] == "A002"
                await receive_until(
                    ws,
                    lambda m: m["type"] == "snapshot" and queue_of(m, "A")["waiting"] == 2,
                    "the new ticket",
                )
                current_s = time.monotonic() - restarted
    finally:
        redis.stop()
    report(
        f"injected: Redis stopped, then restarted on the same data; measured: /readyz "
        f"and a command both answered 503, in {refused_s:.2f} s; ready again "
        f"{ready_s:.2f} s and the screen current {current_s:.2f} s after the restart"
    )


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200
