"""The simulator's office behind the real API: every answer the API can give, from a live
server - refusals (404, 409, 422), 429 with Retry-After, 503 while Redis is away, and no
server at all."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sensors.engine import CounterView
from sensors.http_office import HttpOffice
from tests.helpers import (
    TIMEOUT,
    LiveServer,
    auth,
    eventually,
    free_port,
    get_when,
    live_server,
    waiting,
)
from tests.test_api import issue
from waitboard.core.office import Office
from waitboard.store.embedded import EmbeddedRedis


async def test_refusals_come_back_as_the_state_found(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    """What the API refuses does not stop the simulator: an unknown queue (422) gives no
    ticket, a ticket gone (404) or in another state (409) is not acted on, a counter closed
    or busy by hand answers as it is - with the ticket staff called there."""
    async with httpx.AsyncClient(
        base_url=server.url, timeout=TIMEOUT, headers=auth("admin")
    ) as sim:
        office = HttpOffice(sim, "sued")
        assert await office.issue("Z") is None
        assert await office.complete("t_unknown", "1") is False
        waiting = (await issue(http, "A", device="reception-sued")).json()
        assert await office.complete(waiting["id"], "1") is False
        assert await office.call_next("1") == CounterView(open=False)
        await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
        by_hand = await http.post(
            "/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1")
        )
        assert by_hand.json()["id"] == waiting["id"]
        for view in (await office.call_next("1"), await office.close("1")):
            assert view is not None and view.open and view.ticket is not None
            assert (view.ticket["id"], view.ticket["status"]) == (waiting["id"], "called")
        assert await office.start(waiting["id"], "1") is True
        assert await office.complete(waiting["id"], "1") is True


class ThrottlingProxy:
    """A reverse proxy in front of the server, as an office's gateway may be: it answers
    the first POST with 429 and ``Retry-After: 1`` (the server itself never limits a valid
    device token), and passes everything else on."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.throttled = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        if request.method == "POST" and not self.throttled:
            self.throttled = True
            await Response(status_code=429, headers={"Retry-After": "1"})(scope, receive, send)
            return
        async with httpx.AsyncClient(base_url=self.upstream, timeout=TIMEOUT) as client:
            answer = await client.request(
                request.method,
                request.url.path,
                content=await request.body(),
                headers={k: v for k, v in request.headers.items() if k != "host"},
            )
        passed = Response(answer.content, answer.status_code, media_type=None)
        passed.raw_headers = [
            (k.encode(), v.encode())
            for k, v in answer.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding", "content-encoding")
        ] + [(b"content-length", str(len(answer.content)).encode())]
        await passed(scope, receive, send)


async def test_a_429_is_waited_out_as_its_retry_after_says(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Told to wait (429 from a gateway in front of the server), the simulator sends its
    command again no sooner than Retry-After says, under the same key: one ticket."""
    proxy = ThrottlingProxy(server.url)
    port = free_port()
    gateway = uvicorn.Server(uvicorn.Config(proxy, host="127.0.0.1", port=port, log_level="error"))
    task = asyncio.create_task(gateway.serve())
    await eventually(lambda: gateway.started, "the gateway to start")
    sent: list[tuple[float, int, str, str]] = []

    async def note(r: httpx.Response) -> None:
        key = r.request.headers.get("idempotency-key", "")
        sent.append((time.monotonic(), r.status_code, key, r.headers.get("retry-after", "")))

    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            timeout=TIMEOUT,
            headers=auth("admin"),
            event_hooks={"response": [note]},
        ) as sim:
            ticket = await HttpOffice(sim, "sued").issue("A")
    finally:
        gateway.should_exit = True
        await asyncio.wait_for(task, TIMEOUT)
    assert ticket is not None and ticket["number"] == "A001"
    (t0, first, key0, retry_after), *_, (t1, last, key1, _) = sent
    assert (first, last) == (429, 201) and key0 == key1 != ""
    assert t1 - t0 >= float(retry_after)
    snap = await get_when(
        http, "/api/v1/locations/sued", lambda r: waiting(r.json())["A"] > 0, "the ticket"
    )
    assert waiting(snap.json())["A"] == 1


async def test_a_server_away_or_without_redis_is_waited_for(
    tmp_path: Path, office: Office, caplog: pytest.LogCaptureFixture
) -> None:
    """Nobody listening (connection refused), then Redis stopped (503): the simulator backs
    off and sends the same command again until the server answers - one ticket, issued -
    and says so in one line."""
    caplog.set_level(logging.INFO, logger="sensors")
    data = tmp_path / "redis"
    redis = EmbeddedRedis(data).start()
    port = free_port()
    statuses: list[int] = []

    async def note(r: httpx.Response) -> None:
        statuses.append(r.status_code)

    def logged(reason: str) -> bool:
        return any(getattr(r, "reason", "") == reason for r in caplog.records)

    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            timeout=TIMEOUT,
            headers=auth("admin"),
            event_hooks={"response": [note]},
        ) as sim:
            pending = asyncio.create_task(HttpOffice(sim, "sued").issue("A"))
            await eventually(
                lambda: logged("ConnectError") or pending.done(), "a refused connection, noted"
            )
            assert not pending.done(), pending.result()  # (what escaped, if anything)
            async with live_server(redis.url, office, port=port) as srv:
                redis.stop()
                await eventually(lambda: 503 in statuses, "a 503 while Redis is away")
                assert not pending.done()
                redis = EmbeddedRedis(data).start()
                ticket = await asyncio.wait_for(pending, 3 * TIMEOUT)
                assert ticket is not None and ticket["number"] == "A001"
                async with httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http:
                    snap = await get_when(
                        http,
                        "/api/v1/locations/sued",
                        lambda r: r.status_code == 200 and waiting(r.json())["A"] > 0,
                        "the ticket",
                    )
                assert waiting(snap.json())["A"] == 1
    finally:
        redis.stop()
    problems = [r for r in caplog.records if r.name.startswith("sensors.")]
    assert len(problems) == 1, [r.getMessage() for r in problems]  # one line for one command
