"""Live updates over WebSocket through a real uvicorn and the real Redis pub/sub."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import replace

import httpx
import orjson
import pytest
from redis.asyncio import Redis
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.helpers import (
    FAST,
    TIMEOUT,
    LiveServer,
    Report,
    auth,
    eventually,
    live_server,
    queue_of,
    receive_until,
)
from waitboard.core.domain import Action
from waitboard.core.office import Office
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis


async def issue(http: httpx.AsyncClient, queue: str = "A") -> dict:
    r = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": queue}, headers=auth("reception-sued")
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_ticket_shows_up_live(
    server: LiveServer, http: httpx.AsyncClient, report: Report
) -> None:
    """A WebSocket client sees waiting go from 0 to 1 after POST .../tickets."""
    async with server.ws("/ws/locations/sued") as ws:
        first = await receive_until(ws, lambda m: m["type"] == "snapshot", "first snapshot")
        assert queue_of(first, "A")["waiting"] == 0
        started = time.perf_counter()
        await issue(http)
        update = await receive_until(
            ws,
            lambda m: m["type"] == "snapshot" and queue_of(m, "A")["waiting"] == 1,
            "waiting == 1",
        )
        # Measured, not asserted (speed is the benchmarks' business); reported for the record.
        report(f"POST to WebSocket update: {(time.perf_counter() - started) * 1000:.1f} ms")
        assert update["seq"] > first["seq"] and update["epoch"] == first["epoch"]


async def test_call_appears_with_the_counter_name(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    """After call-next the call is in calls with the counter's name; the ticket is called."""
    ticket = await issue(http)
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    async with server.ws("/ws/locations/sued") as ws:
        await receive_until(ws, lambda m: m["type"] == "snapshot", "first snapshot")
        r = await http.post(
            "/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1")
        )
        assert r.status_code == 200
        snap = await receive_until(ws, lambda m: m["type"] == "snapshot" and m["calls"], "a call")
        call = snap["calls"][0]
        assert call["number"] == ticket["number"] and call["ticket_id"] == ticket["id"]
        assert call["counter"] == "1" and call["counter_name"] == "Schalter 1"
        counter = next(c for c in snap["counters"] if c["id"] == "1")
        assert counter["number"] == ticket["number"] and counter["ticket_status"] == "called"
        assert queue_of(snap, "A")["waiting"] == 0
    status = (await http.get(f"/api/v1/tickets/{ticket['id']}")).json()["status"]
    assert status == "called"


async def test_heartbeats_arrive(server: LiveServer) -> None:
    """Between changes the client gets heartbeats with the current seq."""
    async with server.ws("/ws/locations/sued") as ws:
        snap = await receive_until(ws, lambda m: m["type"] == "snapshot", "snapshot")
        beat = await receive_until(ws, lambda m: m["type"] == "heartbeat", "heartbeat")
        assert beat["seq"] == snap["seq"] and beat["epoch"] == snap["epoch"]


async def test_change_still_arrives_after_pubsub_connection_is_killed(
    server: LiveServer, http: httpx.AsyncClient, redis: Redis, report: Report
) -> None:
    """CLIENT KILL TYPE pubsub mid-stream: the next change reaches the client correctly."""
    async with server.ws("/ws/locations/sued") as ws:
        await receive_until(ws, lambda m: m["type"] == "snapshot", "first snapshot")
        await issue(http)
        await receive_until(
            ws,
            lambda m: m["type"] == "snapshot" and queue_of(m, "A")["waiting"] == 1,
            "waiting == 1",
        )
        killed = await redis.client_kill_filter(_type="pubsub")
        assert killed >= 1
        started = time.perf_counter()
        await issue(http)  # published while the hub may still be reconnecting
        await receive_until(
            ws,
            lambda m: m["type"] == "snapshot" and queue_of(m, "A")["waiting"] == 2,
            "waiting == 2 after kill",
        )
        first_s = time.perf_counter() - started
        await issue(http)
        await receive_until(
            ws,
            lambda m: m["type"] == "snapshot" and queue_of(m, "A")["waiting"] == 3,
            "waiting == 3 after kill",
        )
    report(
        f"injected: CLIENT KILL TYPE pubsub ({killed} connection(s)); measured: the "
        f"next change reached the screen {first_s * 1000:.0f} ms after its POST"
    )


async def test_foreign_origin_is_refused(server: LiveServer) -> None:
    """A page of another site cannot open the feed; the service's own origin can."""
    with pytest.raises(InvalidStatus) as info:
        async with server.ws("/ws/locations/sued", origin="https://evil.example"):
            pass
    assert info.value.response.status_code == 403
    async with server.ws("/ws/locations/sued", origin=server.url) as ws:
        await receive_until(ws, lambda m: m["type"] == "snapshot", "snapshot")


async def test_unknown_location_handshake_is_refused(server: LiveServer) -> None:
    """No WebSocket for a location that does not exist."""
    with pytest.raises(InvalidStatus) as info:
        async with server.ws("/ws/locations/west"):
            pass
    assert info.value.response.status_code == 403


async def test_oversized_client_message_closes_the_socket(server: LiveServer) -> None:
    """Clients send nothing but pongs: a 10 KB message closes the connection (1009)."""
    async with server.ws("/ws/locations/sued") as ws:
        await receive_until(ws, lambda m: m["type"] == "snapshot", "snapshot")
        await ws.send("x" * 10_000)

        async def read_until_closed() -> None:
            for _ in range(100):  # heartbeats may still arrive before the close
                await asyncio.wait_for(ws.recv(), TIMEOUT)

        with pytest.raises(ConnectionClosed) as info:
            await read_until_closed()
        assert info.value.rcvd is not None and info.value.rcvd.code == 1009


async def test_overview_socket_follows_every_location(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    """/ws/locations sends all locations' summaries and updates them."""
    async with server.ws("/ws/locations") as ws:
        first = await receive_until(ws, lambda m: m["type"] == "locations", "overview")
        assert [loc["id"] for loc in first["locations"]] == ["sued", "nord"]
        await issue(http, "B")
        await receive_until(
            ws,
            lambda m: (
                m["type"] == "locations"
                and any(q["id"] == "B" and q["waiting"] == 1 for q in m["locations"][0]["queues"])
            ),
            "B waiting == 1 in the overview",
        )


def stalled_client(port: int) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads again, with
    a tiny receive buffer so the server's sends back up quickly."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws/locations/sued HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


async def test_stalled_client_is_dropped_and_never_delays_others(
    redis_server: EmbeddedRedis, redis: Redis, office: Office, report: Report
) -> None:
    """A client that stops reading is dropped; a healthy one sees every change meanwhile."""
    # Without coalescing every change is a frame, so the stalled client's buffers (the
    # kernel's grow to megabytes) fill within seconds instead of minutes.
    async with live_server(redis_server.url, office, replace(FAST, coalesce_s=0.0)) as srv:
        ctx = srv.app.state.ctx
        port = int(srv.url.rsplit(":", 1)[1])
        stalled = await asyncio.to_thread(stalled_client, port)
        try:
            async with srv.ws("/ws/locations/sued") as healthy:
                await receive_until(healthy, lambda m: m["type"] == "snapshot", "snapshot")
                await ctx.store.set_counter("sued", "1", True)
                deadline = time.monotonic() + 6 * TIMEOUT
                rounds = 0
                while "waitboard_ws_dropped_slow_total 1.0" not in ctx.metrics.render().decode():
                    assert time.monotonic() < deadline, "the stalled client was never dropped"
                    assert rounds < 5000
                    rounds += 1
                    await ctx.store.issue("sued", "A", "test")
                    called = await ctx.store.call_next("sued", "1")
                    assert called.ticket is not None
                    done = await ctx.store.act(called.ticket.id, Action.NO_SHOW, counters=None)
                    assert done.location is not None
                    seq = done.location.seq
                    await receive_until(
                        healthy,
                        lambda m, s=seq: m["type"] == "snapshot" and m["seq"] >= s,
                        f"the healthy client at seq {seq}",
                    )
                report(f"stalled client dropped after {rounds} rounds of changes")
        finally:
            stalled.close()


async def test_a_seq_gap_makes_the_hub_reload(server: LiveServer, redis: Redis) -> None:
    """A doorbell that skips seqs (some were lost) makes the hub re-read the location."""
    async with server.ws("/ws/locations/sued") as ws:
        snap = await receive_until(ws, lambda m: m["type"] == "snapshot", "snapshot")
        registry = server.app.state.ctx.metrics.registry

        def gap_reloads() -> float:
            return (
                registry.get_sample_value("waitboard_hub_reloads_total", {"reason": "gap"}) or 0.0
            )

        before = gap_reloads()
        await redis.hincrby(keys.meta("sued"), "seq", 3)  # three changes whose bells got lost
        await redis.publish(
            keys.channel("sued"),
            orjson.dumps({"epoch": snap["epoch"], "seq": snap["seq"] + 4, "ts": 0}),
        )
        await receive_until(
            ws,
            lambda m: m["type"] == "snapshot" and m["seq"] == snap["seq"] + 3,
            "the reloaded seq",
        )
        assert gap_reloads() == before + 1


async def test_a_change_without_doorbell_is_found_by_the_seq_check(
    server: LiveServer, redis: Redis
) -> None:
    """No doorbell at all: the periodic seq comparison still brings the screen up to date."""
    async with server.ws("/ws/locations/sued") as ws:
        snap = await receive_until(ws, lambda m: m["type"] == "snapshot", "snapshot")
        await redis.hincrby(keys.meta("sued"), "seq", 1)  # a change whose bell never rang
        await receive_until(
            ws, lambda m: m["type"] == "snapshot" and m["seq"] == snap["seq"] + 1, "the drifted seq"
        )


def reloads(server: LiveServer, reason: str) -> float:
    """How often the hub reloaded a location from Redis for ``reason`` (its metrics)."""
    text = server.app.state.ctx.metrics.render().decode()
    line = f'waitboard_hub_reloads_total{{reason="{reason}"}} '
    return sum(float(row.split()[-1]) for row in text.splitlines() if row.startswith(line))


async def test_a_location_nobody_watches_is_loaded_when_someone_looks(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Without a screen on it, changes to a location are not reloaded one by one; a public
    read and the first screen still see the current state."""
    hub = server.app.state.ctx.hub
    deadline = time.monotonic() + TIMEOUT
    while not all(v.frame is not None for v in hub.views.values()):  # the start's loads
        assert time.monotonic() < deadline, "the hub never loaded its locations"
        await asyncio.sleep(0.02)
    before, held = reloads(server, "change"), reloads(server, "held")
    for _ in range(3):
        await issue(http)
    snap = (await http.get("/api/v1/locations/sued")).json()
    assert queue_of(snap, "A")["waiting"] == 3
    # The doorbells come asynchronously, possibly after the read.
    await eventually(lambda: reloads(server, "held") >= held + 3, "three changes held back")
    assert reloads(server, "change") == before  # nothing reloaded per change
    await issue(http)
    # (Its doorbell, too, is held before the screen comes: a screen that connects before
    # the doorbell arrives gets the cached snapshot and the change a moment later.)
    await eventually(lambda: reloads(server, "held") >= held + 4, "the fourth change held back")
    async with server.ws("/ws/locations/sued") as ws:
        first = await receive_until(ws, lambda m: m["type"] == "snapshot", "first snapshot")
        assert queue_of(first, "A")["waiting"] == 4  # never the outdated cached one
        await issue(http)  # watched now: the change comes live
        await receive_until(
            ws,
            lambda m: m["type"] == "snapshot" and queue_of(m, "A")["waiting"] == 5,
            "waiting == 5",
        )


def clients_gauge(srv: LiveServer, location: str) -> float:
    """What /metrics says about the location's connected WebSocket clients."""
    line = f'waitboard_ws_clients{{location="{location}"}} '
    for row in srv.app.state.ctx.metrics.render().decode().splitlines():
        if row.startswith(line):
            return float(row.split()[-1])
    return 0.0


async def test_clients_that_leave_are_unsubscribed_however_they_go(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    """A clean close, a dropped TCP connection: the hub and /metrics forget both."""
    hub = server.app.state.ctx.hub
    async with server.ws("/ws/locations/sued") as stays:
        await receive_until(stays, lambda m: m["type"] == "snapshot", "snapshot")
        closing = await server.ws("/ws/locations/sued")
        vanishing = await server.ws("/ws/locations/sued")
        for ws in (closing, vanishing):
            await receive_until(ws, lambda m: m["type"] == "snapshot", "snapshot")
        assert len(hub.views["sued"].subscribers) == 3
        assert clients_gauge(server, "sued") == 3
        await closing.close()
        vanishing.transport.abort()  # no close frame: the TCP connection just ends
        await eventually(
            lambda: len(hub.views["sued"].subscribers) == 1, "two clients to be unsubscribed"
        )
        assert clients_gauge(server, "sued") == 1
        await issue(http)
        await receive_until(
            stays,
            lambda m: m["type"] == "snapshot" and queue_of(m, "A")["waiting"] == 1,
            "the remaining client's update",
        )
    await eventually(lambda: not hub.views["sued"].subscribers, "the last client to go")


async def test_a_client_that_talks_still_gets_updates_and_closes_cleanly(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Messages from a screen are ignored: it keeps its updates and its close is answered."""
    hub = server.app.state.ctx.hub
    async with server.ws("/ws/locations/sued", close_timeout=TIMEOUT) as ws:
        await receive_until(ws, lambda m: m["type"] == "snapshot", "snapshot")
        for i in range(20):
            await ws.send(f'{{"hello": {i}}}')
        await issue(http)
        await receive_until(
            ws,
            lambda m: m["type"] == "snapshot" and queue_of(m, "A")["waiting"] == 1,
            "an update after the client's messages",
        )
        await ws.close()
        # The server read the close frame behind the messages and answered it.
        assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000
    await eventually(lambda: not hub.views["sued"].subscribers, "the client to be unsubscribed")


async def test_a_restart_tells_connected_screens_to_come_back(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Stopping the server closes every screen's socket with 1012 (service restart)."""
    async with live_server(redis_server.url, office) as srv:
        ws = await srv.ws("/ws/locations/sued")
        await receive_until(ws, lambda m: m["type"] == "snapshot", "snapshot")
    closed: ConnectionClosed | None = None
    for _ in range(100):  # heartbeats may still be queued before the close
        try:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        except ConnectionClosed as e:
            closed = e
            break
    assert closed is not None and closed.rcvd is not None and closed.rcvd.code == 1012


def settled(server: LiveServer, location: str) -> bool:
    """The hub is linked to Redis and has loaded and sent ``location``, with nothing pending."""
    hub = server.app.state.ctx.hub
    view = hub.views[location]
    return bool(
        hub.listening
        and view.frame is not None
        and not (view.dirty.is_set() or view.loading or view.unsent.is_set())
    )


async def test_screens_joining_during_fan_outs_get_each_snapshot_once_in_order(
    redis_server: EmbeddedRedis, office: Office, monkeypatch: pytest.MonkeyPatch, report: Report
) -> None:
    """Screens joining mid-fan-out get each snapshot once, in order, and end at the newest."""
    # Fan-outs in turns of one screen, so that turns, reloads and joins interleave.
    monkeypatch.setattr("waitboard.live.hub.TURN", 1)
    # No reload but for changes: a refresh sends a seq again (with new waits), which is
    # not what this is about.
    timing = replace(FAST, coalesce_s=0.0, refresh_s=3600.0, drift_check_s=3600.0)
    async with live_server(redis_server.url, office, timing) as srv:
        store = srv.app.state.ctx.store
        await eventually(lambda: settled(srv, "sued"), "the start's reloads to be done")
        seen: list[list[int]] = []

        async def screen(final: asyncio.Future[int]) -> None:
            seqs: list[int] = []
            seen.append(seqs)
            async with srv.ws("/ws/locations/sued") as ws:
                deadline = time.monotonic() + 3 * TIMEOUT
                while not (final.done() and seqs and seqs[-1] >= final.result()):
                    assert time.monotonic() < deadline, f"a screen stopped at {seqs[-1:]}"
                    with contextlib.suppress(TimeoutError):
                        message = orjson.loads(await asyncio.wait_for(ws.recv(), 0.2))
                        if message["type"] == "snapshot":
                            seqs.append(message["seq"])

        final: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        screens = [asyncio.create_task(screen(final)) for _ in range(20)]
        for _ in range(30):  # a change and a screen that joins
            await store.issue("sued", "A", "test")
            screens.append(asyncio.create_task(screen(final)))
            await asyncio.sleep(0.005)
        final.set_result((await store.location_state("sued")).seq)
        await asyncio.gather(*screens)

    for seqs in seen:
        assert seqs == sorted(set(seqs)), f"a screen got {seqs}"
        assert seqs[-1] == final.result()
    report(
        f"{len(seen)} screens, 30 changes: {sum(map(len, seen))} snapshots, "
        "none twice or out of order"
    )


async def test_seq_checks_and_doorbells_racing_reloads_send_no_snapshot_twice(
    redis_server: EmbeddedRedis, office: Office, report: Report
) -> None:
    """A seq check or doorbell that comes while a reload is under way sends nothing twice."""
    # The seq check as often as the ticker goes, no window: checks, doorbells and reloads
    # overlap all the time. No refresh: it sends the same seq again on purpose (new waits).
    timing = replace(FAST, coalesce_s=0.0, refresh_s=3600.0, drift_check_s=0.01)
    async with live_server(redis_server.url, office, timing) as srv:
        store = srv.app.state.ctx.store
        await eventually(lambda: settled(srv, "sued"), "the start's reloads to be done")
        async with srv.ws("/ws/locations/sued") as ws:
            seqs = [(await receive_until(ws, lambda m: m["type"] == "snapshot", "snapshot"))["seq"]]
            for _ in range(40):
                await store.issue("sued", "A", "test")
                await asyncio.sleep(0.01)
            final = (await store.location_state("sued")).seq

            def noting_snapshots(until: Callable[[dict], bool]) -> Callable[[dict], bool]:
                def predicate(message: dict) -> bool:
                    if message["type"] == "snapshot":
                        seqs.append(message["seq"])
                    return until(message)

                return predicate

            await receive_until(
                ws,
                noting_snapshots(lambda m: m["type"] == "snapshot" and m["seq"] == final),
                f"the snapshot of seq {final}",
            )
            await eventually(lambda: settled(srv, "sued"), "the last reload to be done")
            # A heartbeat goes out after any snapshot sent before it: what came twice is in.
            await receive_until(
                ws, noting_snapshots(lambda m: m["type"] == "heartbeat"), "a heartbeat"
            )
    assert seqs == sorted(set(seqs)), f"the screen got {seqs}"
    report(f"40 changes with seq checks every 10 ms: {len(seqs)} snapshots, none twice")


async def test_a_reload_that_finds_the_seq_shown_sends_nothing_again(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """A doorbell for a change the screens already show reloads, but sends no second copy."""
    # No refresh: it sends the seq shown again on purpose (the next test).
    async with (
        live_server(redis_server.url, office, replace(FAST, refresh_s=3600.0)) as srv,
        srv.ws("/ws/locations/sued") as ws,
    ):
        snap = await receive_until(ws, lambda m: m["type"] == "snapshot", "snapshot")
        await eventually(lambda: settled(srv, "sued"), "the start's reloads to be done")
        await receive_until(ws, lambda m: m["type"] == "heartbeat", "a heartbeat")
        before = reloads(srv, "unchanged")
        # As a doorbell that comes while the reload reading its change is under way: by
        # the time it is handled, Redis holds no seq the screens do not have.
        await redis.publish(
            keys.channel("sued"),
            orjson.dumps({"epoch": snap["epoch"], "seq": snap["seq"] + 1, "ts": 0}),
        )
        await eventually(lambda: reloads(srv, "unchanged") == before + 1, "the reload")
        await eventually(lambda: settled(srv, "sued"), "the reload's end")
        # A heartbeat goes out after anything sent before it.
        beat = await receive_until(ws, lambda m: m["type"] != "stale", "the next frame")
        assert beat["type"] == "heartbeat", f"got a {beat['type']} of seq {beat.get('seq')}"
        assert beat["seq"] == snap["seq"]


async def test_a_refresh_sends_the_seq_shown_again_with_the_waits_moved_on(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Without any change, the periodic refresh still sends the snapshot again."""
    timing = replace(FAST, refresh_s=0.3)
    async with (
        live_server(redis_server.url, office, timing) as srv,
        srv.ws("/ws/locations/sued") as ws,
    ):
        snap = await receive_until(ws, lambda m: m["type"] == "snapshot", "snapshot")
        before = reloads(srv, "refresh")
        await receive_until(
            ws,
            lambda m: (
                m["type"] == "snapshot"
                and m["seq"] == snap["seq"]
                and reloads(srv, "refresh") > before
            ),
            "a refreshed snapshot of the same seq",
        )
