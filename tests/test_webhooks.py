"""Webhooks end to end, with real parts only: the suite's Redis, a receiver that is a small
Starlette app under a real uvicorn on 127.0.0.1, deliverers in this process and one in a
process of its own that the test kills. Every message is checked with the receiver's
documented check (:func:`waitboard.core.webhook_signature.verify`)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.helpers import (
    OFFICE_PATH,
    ROOT,
    TIMEOUT,
    SettableClock,
    auth,
    eventually,
    free_port,
    live_server,
)
from tests.webhook_process import timing
from waitboard.app import webhook_keys
from waitboard.core.office import Office, parse_office
from waitboard.core.webhook_signature import secret_key, verify
from waitboard.core.webhooks import Webhook, message_id
from waitboard.metrics import Metrics
from waitboard.services.outbound import IPAddress
from waitboard.services.webhook_deliverer import Deliverer
from waitboard.settings import Settings, SettingsError
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.office_store import Store
from waitboard.store.redis import connect
from waitboard.store.webhooks import WebhookStore

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
FAST = timing(lease_s=1.0)


@dataclasses.dataclass
class Got:
    headers: dict[str, str]
    body: bytes
    status: int = 0

    @property
    def message(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.body)
        return parsed


class Receiver:
    """The office's CRM: records each request; answers the statuses in ``answers`` in turn,
    then 204; requests from number ``hold_from`` on wait until ``gate`` is set."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.got: list[Got] = []
        self.answers: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.hold_from = 0

    async def hook(self, request: Request) -> Response:
        got = Got(dict(request.headers), await request.body())
        self.got.append(got)
        if len(self.got) > self.hold_from:
            await self.gate.wait()
        got.status = self.answers.pop(0) if self.answers else 204
        return Response(status_code=got.status, headers={"retry-after": "0"})

    def delivered(self) -> list[Got]:
        return [g for g in self.got if 200 <= g.status < 300]

    def delivered_ids(self) -> list[str]:
        return [g.headers["webhook-id"] for g in self.delivered()]


@contextlib.asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = Starlette(routes=[Route("/hook", receiver.hook, methods=["POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=receiver.port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done(), "the receiver to start")
    try:
        yield receiver
    finally:
        receiver.gate.set()
        server.should_exit = True
        await asyncio.wait_for(task, TIMEOUT)


def verified(got: Got) -> dict[str, Any]:
    """The message, after the receiver's documented check."""
    assert verify(SECRET, got.headers, got.body, now=int(time.time())) == got.message["id"]
    return got.message


def documented_check() -> Any:
    """The ``verify`` a receiver copies from docs/webhooks.md, as it stands there."""
    text = (ROOT / "docs" / "webhooks.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert code, "docs/webhooks.md shows the receiver's check"
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    return namespace["verify"]


def count(metrics: Metrics, webhook: str, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "waitboard_webhook_deliveries_total", {"webhook": webhook, "outcome": outcome}
    )
    return value or 0.0


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))


@pytest.fixture
def store(redis: Redis, office: Office, clock: SettableClock) -> Store:
    return Store(redis, office, clock)


class Deliverers:
    """Deliverers in this process, each with a Redis client of its own; all stopped after."""

    def __init__(self, url: str, office: Office) -> None:
        self.url, self.office = url, office
        self.running: list[tuple[asyncio.Task[None], Redis]] = []
        self.metrics = Metrics()

    def start(self, hook: Webhook, **options: Any) -> Deliverer:
        client = connect(self.url)
        options.setdefault("allow_loopback", True)
        deliverer = Deliverer(
            WebhookStore(client),
            hook,
            secret_key(SECRET),
            "sued",
            self.office.tz,
            self.metrics,
            timing=FAST,
            **options,
        )
        self.running.append((asyncio.create_task(deliverer.run()), client))
        return deliverer

    async def stop(self) -> None:
        for task, client in self.running:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.aclose()
        self.running = []


@pytest.fixture
async def deliverers(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> AsyncIterator[Deliverers]:
    found = Deliverers(redis_server.url, office)
    yield found
    await found.stop()


def hook(url: str, hook_id: str = "crm", **fields: Any) -> Webhook:
    return Webhook(id=hook_id, url=url, secret_env="UNUSED", **fields)


async def started(redis: Redis, hook_id: str = "crm") -> None:
    """Wait until the deliverer has its cursor: what happens from then on is delivered."""
    await eventually(
        lambda: redis.exists(keys.webhook_cursor("sued", hook_id)), "the deliverer's cursor"
    )


async def stream_ids(redis: Redis) -> list[str]:
    return [i.decode() for i, _ in await redis.xrange(keys.events("sued"))]


async def busy(store: Store, tickets: int = 3) -> None:
    """A counter opens, tickets are issued, the first is called."""
    await store.set_counter("sued", "1", True)
    for _ in range(tickets):
        await store.issue("sued", "A", "terminal-sued")
    await store.call_next("sued", "1")


def without_repeats(ids: list[str]) -> list[str]:
    return [i for n, i in enumerate(ids) if n == 0 or ids[n - 1] != i]


# --- through the service ---------------------------------------------------------------------


def office_with_webhook(url: str, secret_file: Path, **fields: Any) -> Office:
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    raw["webhooks"] = [{"id": "crm", "url": url, "secret_file": str(secret_file), **fields}]
    return parse_office(raw, "office.toml")


async def test_a_tickets_life_arrives_signed_and_in_order(
    redis_server: EmbeddedRedis, redis: Redis, tmp_path: Path
) -> None:
    """Issued, called, started, completed through the API: four messages, in order, that
    pass the check docs/webhooks.md shows, with the number, queue and counter, never the
    ticket's id; the service's shutdown gives the lease up."""
    secret_file = tmp_path / "crm.secret"
    secret_file.write_text(SECRET + "\n")
    async with receiving(Receiver()) as receiver:
        office = office_with_webhook(
            receiver.url,
            secret_file,
            locations=["sued"],
            events=["issued", "called", "started", "completed"],
        )
        async with (
            live_server(redis_server.url, office, push_allow_loopback=True) as server,
            httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http,
        ):
            await started(redis)
            counter = auth("counter-sued-1")
            opened = await http.post("/api/v1/locations/sued/counters/1/open", headers=counter)
            assert opened.status_code == 200
            issued = await http.post(
                "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
            )
            ticket = issued.json()
            called = await http.post("/api/v1/locations/sued/counters/1/call-next", headers=counter)
            assert called.json()["id"] == ticket["id"]
            for action in ("start", "complete"):
                answer = await http.post(
                    f"/api/v1/tickets/{ticket['id']}/{action}", headers=counter
                )
                assert answer.status_code == 200
            await eventually(lambda: len(receiver.delivered()) >= 4, "four messages")

    assert await redis.get(keys.webhook_lease("sued", "crm")) is None  # given up on shutdown
    messages = [verified(got) for got in receiver.delivered()]
    check = documented_check()
    assert [check(SECRET, g.headers, g.body) for g in receiver.delivered()] == [
        m["id"] for m in messages
    ]
    assert [m["type"] for m in messages] == ["issued", "called", "started", "completed"]
    assert [m["seq"] for m in messages] == sorted(m["seq"] for m in messages)
    assert len({m["id"] for m in messages}) == 4
    assert all(
        m["location"] == "sued" and m["data"]["number"] == ticket["number"] for m in messages
    )
    assert messages[1]["data"] == {"number": ticket["number"], "queue": "A", "counter": "1"}
    assert messages[0]["at"].startswith(ticket["issued_at"][:16])
    assert all(ticket["id"] not in got.body.decode() for got in receiver.got)
    assert all(got.headers["content-type"] == "application/json" for got in receiver.got)


def test_the_service_refuses_to_start_with_a_webhook_it_cannot_use(tmp_path: Path) -> None:
    """A loopback URL without the flag, a missing or malformed secret, secret_env in
    production: the start stops with the webhook, the field and what to do."""
    secret_file = tmp_path / "crm.secret"
    secret_file.write_text(SECRET)
    loopback = office_with_webhook("http://127.0.0.1:9/hook", secret_file)
    settings = Settings(redis_url="redis://unused", secret_key="k")
    with pytest.raises(SettingsError, match=r"webhook crm: url: it must use https.*ALLOW_LOOPBACK"):
        webhook_keys(settings, loopback)
    assert webhook_keys(dataclasses.replace(settings, push_allow_loopback=True), loopback) == {
        "crm": secret_key(SECRET)
    }
    public = "https://crm.example.org/hook"
    with pytest.raises(SettingsError, match=r"webhook crm: secret_file .*cannot read it"):
        webhook_keys(settings, office_with_webhook(public, tmp_path / "missing"))
    (tmp_path / "bad").write_text("hunter2")
    with pytest.raises(SettingsError, match="webhook crm: a webhook secret starts with whsec_"):
        webhook_keys(settings, office_with_webhook(public, tmp_path / "bad"))
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    raw["webhooks"] = [{"id": "crm", "url": public, "secret_env": "CRM_SECRET"}]
    by_env = parse_office(raw, "office.toml")
    production = dataclasses.replace(settings, env="production")
    with pytest.raises(SettingsError, match="webhook crm: secret_env is for development"):
        webhook_keys(production, by_env)


# --- a receiver that is down ------------------------------------------------------------------


async def test_a_receiver_that_is_down_gets_every_event_later_in_order(
    deliverers: Deliverers, redis: Redis, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listening, then 503, 503, 429: every event arrives afterwards, in order, each
    retried as itself (the same id) and never overtaken by the next. The logs name the
    webhook and the statuses, never the URL, the secret, a signature or a body."""
    caplog.set_level(logging.DEBUG)
    receiver = Receiver()
    deliverers.start(hook(receiver.url + "?token=capability-in-the-url"))
    await started(redis)
    before = await stream_ids(redis)
    await busy(store)
    expected = [message_id("sued", i) for i in await stream_ids(redis) if i not in before]
    await eventually(
        lambda: count(deliverers.metrics, "crm", "unreachable") >= 2, "tries while nobody listens"
    )
    receiver.answers = [503, 503, 429]
    async with receiving(receiver):
        await eventually(lambda: len(receiver.delivered()) >= len(expected), "every event")
    assert receiver.delivered_ids() == expected
    assert without_repeats([g.headers["webhook-id"] for g in receiver.got]) == expected
    assert [g.status for g in receiver.got[:4]] == [503, 503, 429, 204]
    assert all(verified(g)["id"] == g.headers["webhook-id"] for g in receiver.got)
    cursor = await redis.hget(keys.webhook_cursor("sued", "crm"), "after")
    assert cursor is not None and message_id("sued", cursor.decode()) == expected[-1]
    ours = [r for r in caplog.records if r.name.startswith(("waitboard", "httpx", "httpcore"))]
    logged = "\n".join(str(r.__dict__) for r in ours)
    assert "status': 503" in logged and "'webhook': 'crm'" in logged
    never = [SECRET, SECRET.removeprefix("whsec_"), "capability-in-the-url", "127.0.0.1:"]
    never += [g.headers["webhook-signature"].removeprefix("v1,") for g in receiver.got]
    never += [g.body.decode() for g in receiver.got] + ['"data":']
    assert not [secret for secret in never if secret in logged]


async def test_a_message_the_receiver_rejects_for_good_is_skipped_and_counted(
    deliverers: Deliverers, redis: Redis, store: Store
) -> None:
    """A 400 for the first message: the next ones still arrive; the skip is counted."""
    async with receiving(Receiver()) as receiver:
        receiver.answers = [400]
        deliverers.start(hook(receiver.url))
        await started(redis)
        await busy(store, tickets=1)
        await eventually(lambda: len(receiver.delivered()) >= 2, "the messages after it")
    assert receiver.got[0].status == 400
    assert receiver.got[0].headers["webhook-id"] not in receiver.delivered_ids()
    assert count(deliverers.metrics, "crm", "rejected") == 1


# --- one deliverer at a time, and another after it dies --------------------------------------


@contextlib.contextmanager
def deliverer_process(redis_url: str, url: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAITBOARD_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.webhook_process", redis_url, url, SECRET, str(FAST.lease_s)],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(TIMEOUT)


async def test_another_deliverer_goes_on_when_one_is_killed_mid_request(
    deliverers: Deliverers, redis_server: EmbeddedRedis, redis: Redis, store: Store
) -> None:
    """A deliverer process killed while its second request is open: once its lease runs
    out, a deliverer here sends that message again (the same id and body) and the rest;
    the receiver has every event at least once, in order."""
    async with receiving(Receiver()) as receiver:
        receiver.hold_from = 1
        receiver.gate.clear()
        with deliverer_process(redis_server.url, receiver.url) as proc:
            await started(redis)
            before = await stream_ids(redis)
            await busy(store)
            expected = [message_id("sued", i) for i in await stream_ids(redis) if i not in before]
            await eventually(lambda: len(receiver.got) >= 2, "the second request, held")
            successor = deliverers.start(hook(receiver.url))
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(TIMEOUT)
        receiver.gate.set()
        await eventually(
            lambda: set(receiver.delivered_ids()) >= set(expected),
            "every event, from the successor",
        )
        lease = await redis.get(keys.webhook_lease("sued", "crm"))
    assert lease is not None and lease.decode() == successor.token
    ids = [g.headers["webhook-id"] for g in receiver.got]
    assert list(dict.fromkeys(ids)) == expected  # first sent in order, none ahead of time
    held = [g for g in receiver.got if g.headers["webhook-id"] == expected[1]]
    assert len(held) >= 2 and len({g.body for g in held}) == 1
    assert all(verified(g)["id"] == g.headers["webhook-id"] for g in receiver.got)


async def test_a_stale_deliverer_can_neither_move_the_cursor_nor_drop_the_new_lease(
    redis: Redis,
) -> None:
    """After a lease ran out and another took it, the old holder's writes change nothing."""
    store = WebhookStore(redis)
    assert await store.hold("sued", "crm", "old", 60_000)
    assert not await store.hold("sued", "crm", "new", 60_000)
    start = await store.cursor("sued", "crm", "old")
    assert start is not None
    await redis.delete(keys.webhook_lease("sued", "crm"))  # (its TTL ran out)
    assert await store.hold("sued", "crm", "new", 60_000)
    assert not await store.advance("sued", "crm", "old", dataclasses.replace(start, after="9-9"))
    assert await store.cursor("sued", "crm", "old") is None
    await store.release("sued", "crm", "old")
    assert await redis.get(keys.webhook_lease("sued", "crm")) == b"new"
    assert await store.cursor("sued", "crm", "new") == start


# --- addresses that are not allowed ------------------------------------------------------------


async def test_refused_addresses_cause_no_request_and_keep_the_event(
    deliverers: Deliverers, redis: Redis, store: Store
) -> None:
    """http to this machine without the flag, a name resolving to 10.x without
    allow_private, the metadata address: refused before any connection, again and again;
    the event stays undelivered, its cursor unmoved."""

    async def intranet(host: str, port: int) -> list[IPAddress]:
        import ipaddress

        return [ipaddress.ip_address("10.0.0.5")]

    async with receiving(Receiver()) as receiver:
        deliverers.start(hook(receiver.url, "loopback"), allow_loopback=False)
        deliverers.start(hook("https://crm.intranet.example/hook", "private"), resolver=intranet)
        metadata = Webhook.model_construct(
            id="metadata",
            url="https://169.254.169.254/latest/meta-data",
            secret_env="UNUSED",
            allow_private=True,
        )
        deliverers.start(metadata)
        for hook_id in ("loopback", "private", "metadata"):
            await started(redis, hook_id)
        cursors = {
            h: await redis.hgetall(keys.webhook_cursor("sued", h))
            for h in ("loopback", "private", "metadata")
        }
        await store.issue("sued", "A", "terminal-sued")
        for hook_id in cursors:
            await eventually(
                lambda h=hook_id: count(deliverers.metrics, h, "refused") >= 2, f"{hook_id} refused"
            )
    assert receiver.got == []
    for hook_id, cursor in cursors.items():
        assert count(deliverers.metrics, hook_id, "unreachable") == 0
        assert count(deliverers.metrics, hook_id, "timeout") == 0
        assert await redis.hgetall(keys.webhook_cursor("sued", hook_id)) == cursor


# --- a stream trimmed past the cursor ----------------------------------------------------------


async def test_a_stream_trimmed_past_the_cursor_is_said_with_a_gap_message_first(
    deliverers: Deliverers, redis: Redis, store: Store
) -> None:
    """Events trimmed while no deliverer ran: a ``gap`` message naming the last seq
    delivered and the next, then the events that are left, in order."""
    deliverers.start(hook("https://crm.example.org/hook"))
    await started(redis)
    await deliverers.stop()
    assert await redis.get(keys.webhook_lease("sued", "crm")) is None  # given up on stop
    cursor = await redis.hgetall(keys.webhook_cursor("sued", "crm"))
    await busy(store, tickets=4)
    await redis.xtrim(keys.events("sued"), maxlen=2, approximate=False)
    left = await stream_ids(redis)
    async with receiving(Receiver()) as receiver:
        deliverers.start(hook(receiver.url))
        await eventually(lambda: len(receiver.delivered()) >= 3, "the gap and what is left")
    gap, *rest = [verified(g) for g in receiver.delivered()]
    assert gap["type"] == "gap" and gap["location"] == "sued"
    assert gap["data"]["last_delivered_seq"] == int(cursor[b"seq"])
    assert gap["data"]["next_seq"] == rest[0]["seq"]
    assert [m["id"] for m in rest] == [message_id("sued", i) for i in left]
