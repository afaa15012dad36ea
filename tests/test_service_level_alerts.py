"""Service-level alerts end to end, with real parts only: waitboard under uvicorn on the
suite's Redis and a clock the test sets, a real SMTP server (aiosmtpd) and a webhook
receiver on loopback ports. A queue that passes its target is told once - one mail per
address, one signed ``service_level`` webhook message - however often and by however many
processes it is looked at; again only after it was back within its target for a while."""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from tests.appointments.test_reminders import Inbox, smtp_server
from tests.helpers import (
    MONDAY_8,
    OFFICE_PATH,
    TIMEOUT,
    SettableClock,
    auth,
    eventually,
    free_port,
    live_server,
)
from tests.test_webhooks import SECRET, Receiver, receiving, verified
from waitboard.core.office import Office, parse_office
from waitboard.services import service_levels
from waitboard.services.service_levels import ServiceLevels
from waitboard.settings import SmtpSettings
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.jobs import Jobs
from waitboard.store.office_store import Store
from waitboard.store.service_levels import ServiceLevelStore

LEITUNG = "leitung@jobcenter.example"


def office_with_targets(hook_url: str, secret_file: Path) -> Office:
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    raw["service_level"] = {"share": 0.8, "within_minutes": 20}
    raw["alerts"] = {"email": [LEITUNG], "calm_minutes": 15}
    raw["webhooks"] = [
        {
            "id": "crm",
            "url": hook_url,
            "secret_file": str(secret_file),
            "locations": ["sued"],
            "events": ["service_level"],
        }
    ]
    return parse_office(raw, "office.toml")


@dataclass
class Env:
    http: httpx.AsyncClient
    clock: SettableClock
    redis: Redis
    inbox: Inbox
    receiver: Receiver
    other: ServiceLevels  # a second process's watcher, looking when the test says
    office: Office
    smtp_port: int

    def later(self, minutes: int) -> None:
        self.clock.now += timedelta(minutes=minutes)

    async def issue(self, queue: str = "A") -> str:
        r = await self.http.post(
            "/api/v1/locations/sued/tickets", json={"queue": queue}, headers=auth("terminal-sued")
        )
        assert r.status_code == 201, r.text
        number: str = r.json()["number"]
        return number

    async def look(self) -> int:
        return await self.other.look(self.office.location_by_id["sued"])

    def alerts(self) -> list[dict[str, object]]:
        return [verified(g) for g in self.receiver.delivered() if b'"service_level"' in g.body]


@asynccontextmanager
async def running(
    redis_server: EmbeddedRedis, redis: Redis, tmp_path: Path, mail_up: bool = True
) -> AsyncIterator[Env]:
    """Two servers with targets, alerts to LEITUNG and a webhook receiver; the SMTP server
    on the env's port is up unless ``mail_up`` is False (the test starts it then)."""
    secret_file = tmp_path / "crm.secret"
    secret_file.write_text(SECRET + "\n")
    clock = SettableClock(MONDAY_8)
    inbox, port = Inbox(), free_port()
    smtp = SmtpSettings(
        host="127.0.0.1", port=port, security="plain", mail_from="waitboard <wb@jobcenter.example>"
    )
    with smtp_server(port, inbox) if mail_up else contextlib.nullcontext():
        async with receiving(Receiver()) as receiver:
            office = office_with_targets(receiver.url, secret_file)
            async with (
                live_server(
                    redis_server.url, office, clock=clock, smtp=smtp, push_allow_loopback=True
                ) as srv,
                # A second server on the same Redis, as a second process of the office would be.
                live_server(
                    redis_server.url, office, clock=clock, smtp=smtp, push_allow_loopback=True
                ),
                httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
            ):
                await eventually(
                    lambda: redis.exists(keys.webhook_cursor("sued", "crm")),
                    "the webhook deliverer's cursor",
                )
                store = Store(redis, office, clock)
                other = ServiceLevels(
                    store, ServiceLevelStore(redis), office, Jobs(redis), lambda: None, smtp
                )
                yield Env(http, clock, redis, inbox, receiver, other, office, port)


@pytest.fixture
async def env(
    redis_server: EmbeddedRedis, redis: Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Env]:
    monkeypatch.setattr(service_levels, "LOOK_S", 0.2)  # (the servers' loops, not the test's)
    async with running(redis_server, redis, tmp_path) as found:
        yield found


async def test_a_queue_past_its_target_is_told_once_by_mail_and_webhook(env: Env) -> None:
    """A ticket waits 21 minutes of a 20-minute target with no counter open: one German
    mail to the configured address and one signed webhook message with the numbers - no
    ticket number - and looking again (here, and in the server's own loop) sends nothing
    more."""
    number = await env.issue("A")
    assert await env.look() == 0  # within target: nothing to say
    env.later(21)
    await eventually(lambda: env.inbox.count == 1, "the alert mail")
    await eventually(lambda: len(env.alerts()) == 1, "the alert webhook message")
    for _ in range(3):
        assert await env.look() == 0  # the episode is open: no second alert
    await eventually(lambda: _no_jobs(env), "the job schedule empty")

    rcpt, mail = env.inbox.received[0]
    text = env.inbox.text(0)
    assert rcpt == [LEITUNG]
    assert mail["Subject"] == "Serviceziel überschritten: Eingangszone – Jobcenter Süd"
    assert "Ziel: 80 % in 20 Min." in text and "Längste Wartezeit jetzt: 21 Min." in text
    assert "länger als 20 Minuten" in text
    assert mail["Auto-Submitted"] == "auto-generated" and mail["Content-Language"] == "de"
    assert mail.get_body(("html",)) is not None
    assert number not in mail.as_string()

    message = env.alerts()[0]
    assert message["type"] == "service_level" and message["location"] == "sued"
    assert message["data"] == {
        "queue": "A",
        "state": "missed",
        "longest_wait_s": 21 * 60,
        "target_share": 0.8,
        "target_within_minutes": 20,
    }
    assert number.encode() not in env.receiver.delivered()[0].body
    assert env.inbox.count == 1 and len(env.alerts()) == 1


async def test_two_servers_looking_in_turn_send_one_alert(env: Env) -> None:
    """Both servers look at the location (each takes the look in turn, seen by its token in
    Redis) after the queue passed its target: still one mail and one webhook message."""
    await env.issue("A")
    env.later(21)
    await eventually(lambda: env.inbox.count == 1, "the alert mail")
    holders: set[bytes] = set()

    async def both_looked() -> bool:
        token = await env.redis.get(keys.service_level_look("sued"))
        if token:
            holders.add(token)
        return len(holders) >= 2

    await eventually(both_looked, "both servers to look after the alert")
    await eventually(lambda: _no_jobs(env), "the job schedule empty")
    await eventually(lambda: len(env.alerts()) == 1, "the alert webhook message")
    assert env.inbox.count == 1 and len(env.alerts()) == 1


async def test_an_alert_mail_waits_for_the_mail_server_and_comes_once(
    redis_server: EmbeddedRedis, redis: Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mail server is down when the queue passes its target: the webhook message goes
    out, the mail stays scheduled; once the server is up and the retry is due, it arrives -
    once."""
    monkeypatch.setattr(service_levels, "LOOK_S", 0.2)
    async with running(redis_server, redis, tmp_path, mail_up=False) as env:
        await env.issue("A")
        env.later(21)
        await eventually(lambda: len(env.alerts()) == 1, "the alert webhook message")
        await eventually(lambda: _retrying(env), "the mail to be put off for a retry")
        with smtp_server(env.smtp_port, env.inbox):
            env.later(3)  # (past the retry's 2 minutes)
            await eventually(lambda: env.inbox.count == 1, "the alert mail after the retry")
            await eventually(lambda: _no_jobs(env), "the job schedule empty")
        assert env.inbox.count == 1


async def _retrying(env: Env) -> bool:
    """A job is scheduled, due later than now (it failed once and waits for its retry)."""
    due = await env.redis.zrange(keys.job_schedule(), 0, -1, withscores=True)
    now_ms = int(env.clock.now.timestamp() * 1000)
    return bool(due) and all(score > now_ms + 60_000 for _, score in due)


async def _no_jobs(env: Env) -> bool:
    return await env.other.jobs.pending() == 0


async def test_a_queue_is_told_again_only_after_a_calm_time_within_target(env: Env) -> None:
    """Past the target (one alert), then served and within for 15 minutes: the episode
    ends; passing the target again later is a new alert with a new message id."""
    await env.issue("A")
    env.later(21)
    await eventually(lambda: env.inbox.count == 1, "the first alert mail")
    counter = auth("counter-sued-1")
    await env.http.post("/api/v1/locations/sued/counters/1/open", headers=counter)
    called = await env.http.post("/api/v1/locations/sued/counters/1/call-next", headers=counter)
    assert called.status_code == 200
    await env.look()  # within again: calm begins
    episode = keys.service_level("sued", "A")
    await eventually(lambda: env.redis.hexists(episode, "calm"), "the calm time to begin")
    env.later(16)
    await env.look()  # 16 minutes within: the episode ends
    await eventually(lambda: _gone(env, episode), "the episode to end")
    assert env.inbox.count == 1

    await env.http.post(f"/api/v1/tickets/{called.json()['id']}/complete", headers=counter)
    await env.http.post("/api/v1/locations/sued/counters/1/close", headers=counter)
    await env.issue("A")
    env.later(25)
    await eventually(lambda: env.inbox.count == 2, "the second alert mail")
    await eventually(lambda: len(env.alerts()) == 2, "the second webhook message")
    ids = [m["id"] for m in env.alerts()]
    assert ids[0] != ids[1]
    ids_mail = {m["Message-ID"] for _, m in env.inbox.received}
    assert len(ids_mail) == 2


async def _gone(env: Env, key: str) -> bool:
    return not await env.redis.exists(key)


async def test_standings_read_waits_forecast_and_todays_share_from_redis(redis: Redis) -> None:
    """One person called after 5 minutes (today: 100 % within), five more waiting behind
    one open counter at 6 minutes each: nobody late yet, but the last in line is forecast
    past 20 minutes - at risk; queue B, with nobody, is within."""
    clock = SettableClock(MONDAY_8)
    office = office_with_targets("https://crm.example.org/hook", Path("unused"))
    store = Store(redis, office, clock)
    await store.set_counter("sued", "1", True)
    await store.issue("sued", "A", "terminal-sued")
    clock.now += timedelta(minutes=5)
    await store.call_next("sued", "1")
    for _ in range(5):
        await store.issue("sued", "A", "terminal-sued")
    clock.now += timedelta(minutes=1)

    found = await service_levels.standings(store, office, office.location_by_id["sued"])
    a, b = found["A"], found["B"]
    assert a.state.value == "at_risk"
    assert a.longest_wait_s == 60 and a.forecast_s is not None and a.forecast_s > 20 * 60
    assert (a.share_today, a.called_today) == (1.0, 1)
    assert b.state.value == "within" and b.share_today is None
