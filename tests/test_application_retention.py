"""Application status is kept only as long as it serves the citizen: a decided application
and its history are deleted the configured number of days after the decision, in Redis
itself, and the sweep takes its number off the caseworkers' list."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from redis.asyncio import Redis

from tests.conftest import TIMEOUT, auth, eventually, live_server
from tests.test_config import GOOD, errors_of, write
from tests.test_staff import log_in
from waitboard.application_store import ApplicationStore, app_key, audit_key
from waitboard.applications import DAY_MS, Stage, deletion_due, hash_pin
from waitboard.config import ApplicationPolicy, Office, load_office
from waitboard.embedded_redis import EmbeddedRedis
from waitboard.keys import applications_deleting, applications_recent

NUMBER = "AB-2026-0042"
OTHER = "AB-2026-0043"
PIN_RECORD = hash_pin("12345678")


def now_ms() -> int:
    return int(time.time() * 1000)


async def traces(redis: Redis, number: str) -> list[bytes]:
    """Every wb:app:* key whose name or value still holds ``number``."""
    found = []
    async for key in redis.scan_iter(match="wb:app:*"):
        kind = await redis.type(key)
        if kind == b"zset":
            held = await redis.zscore(key, number) is not None
        elif kind == b"hash":
            held = number.encode() in (await redis.hgetall(key)).values()
        elif kind == b"string":
            held = number.encode() in (await redis.get(key) or b"")
        else:
            held = False
        if number.encode() in key or held:
            found.append(key)
    return found


def test_only_a_decision_sets_a_deletion_date() -> None:
    """Decided: the configured days later; every open stage: kept."""
    at = 1_780_000_000_000
    assert deletion_due(Stage.DECIDED, at, 90) == at + 90 * DAY_MS
    assert deletion_due(Stage.DECIDED, at, 1) == at + DAY_MS
    for stage in (Stage.RECEIVED, Stage.IN_REVIEW, Stage.DOCUMENTS_MISSING):
        assert deletion_due(stage, at, 90) is None


def test_the_office_sets_how_long_and_a_bad_value_is_named(tmp_path: Path) -> None:
    """Ninety days unless configured; zero or a word is refused with the field's name."""
    assert load_office(write(tmp_path, GOOD)).applications.keep_days_after_decision == 90
    configured = GOOD + "\n[applications]\nkeep_days_after_decision = 30\n"
    assert load_office(write(tmp_path, configured)).applications.keep_days_after_decision == 30
    path = write(tmp_path, GOOD + "\n[applications]\nkeep_days_after_decision = 0\n")
    assert errors_of(path) == [
        f"{path}: applications.keep_days_after_decision: Input should be greater than or equal to 1"
    ]
    path = write(tmp_path, GOOD + "\n[applications]\nkeep_days = 30\n")
    assert errors_of(path) == [
        f"{path}: applications.keep_days: unknown field (check the spelling)"
    ]


async def test_a_decision_schedules_the_deletion_and_reopening_cancels_it(redis: Redis) -> None:
    """Decided: the hash and its history expire at the date, which the answer names; a new
    PIN does not move it; saving the decision again keeps the first date; reopening keeps
    the application for good, and a new decision gives a new date."""
    store = ApplicationStore(redis, keep_days_after_decision=30)
    t0 = now_ms()
    await store.create(NUMBER, PIN_RECORD, "caseworker", t0)
    assert await redis.pttl(app_key(NUMBER)) == -1

    decided = await store.set_stage(NUMBER, Stage.DECIDED, (), "caseworker", t0 + 1000)
    due = t0 + 1000 + 30 * DAY_MS
    assert decided.application.delete_at == due
    for key in (app_key(NUMBER), audit_key(NUMBER)):
        assert 29 * DAY_MS < await redis.pttl(key) <= 30 * DAY_MS + 1000
    assert await redis.zscore(applications_deleting(), NUMBER) == due

    await store.reset_pin(NUMBER, hash_pin("87654321"), "caseworker", t0 + 2000)
    again = await store.set_stage(NUMBER, Stage.DECIDED, (), "caseworker", t0 + 3000)
    assert not again.changed and again.application.delete_at == due
    assert 29 * DAY_MS < await redis.pttl(app_key(NUMBER)) <= 30 * DAY_MS + 1000
    assert (await store.application(NUMBER)).delete_at == due  # type: ignore[union-attr]

    reopened = await store.set_stage(NUMBER, Stage.IN_REVIEW, (), "caseworker", t0 + 4000)
    assert reopened.application.delete_at is None
    assert await redis.pttl(app_key(NUMBER)) == -1 and await redis.pttl(audit_key(NUMBER)) == -1
    assert await redis.zscore(applications_deleting(), NUMBER) is None
    assert not await redis.hexists(app_key(NUMBER), "delete_at")

    later = await store.set_stage(NUMBER, Stage.DECIDED, (), "caseworker", t0 + 5000)
    assert later.application.delete_at == t0 + 5000 + 30 * DAY_MS
    _, history = await store.history(NUMBER)
    assert [e.stage for e in history] == [
        Stage.RECEIVED,
        Stage.DECIDED,
        Stage.DECIDED,  # the new PIN
        Stage.IN_REVIEW,
        Stage.DECIDED,
    ]


async def test_when_the_date_comes_nothing_of_the_application_is_left(redis: Redis) -> None:
    """A decision older than the retention: status and history are gone, and after the
    sweep the number is in no key at all; an open application and one decided lately
    stay; the number can be filed anew and then stays on the list."""
    store = ApplicationStore(redis, keep_days_after_decision=90)
    long_ago = now_ms() - 100 * DAY_MS
    await store.create(NUMBER, PIN_RECORD, "caseworker", long_ago)
    await store.create(OTHER, PIN_RECORD, "caseworker", long_ago)
    await store.create("AB-2026-0044", PIN_RECORD, "caseworker", now_ms())
    answer = await store.set_stage(NUMBER, Stage.DECIDED, (), "caseworker", long_ago + DAY_MS)
    assert answer.application.stage is Stage.DECIDED  # the answer, taken before it went
    await store.set_stage("AB-2026-0044", Stage.DECIDED, (), "caseworker", now_ms())

    assert await store.application(NUMBER) is None
    assert not await redis.exists(app_key(NUMBER), audit_key(NUMBER))
    assert [a.number for a in await store.recent()] == ["AB-2026-0044", OTHER]

    assert await store.sweep(now_ms()) == 1
    assert await traces(redis, NUMBER) == []
    assert await store.sweep(now_ms()) == 0
    assert await redis.zcard(applications_recent()) == 2
    assert await store.application(OTHER) is not None

    await store.create(NUMBER, PIN_RECORD, "caseworker", now_ms())
    await store.sweep(now_ms() + 1000)
    assert NUMBER in [a.number for a in await store.recent()]


async def test_the_citizen_and_the_caseworker_see_the_deletion_date(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """With the office's 30 days: the API answers carry delete_at, the citizen's page says
    in German when the status is deleted, the caseworker's page names the days."""
    office30 = office.model_copy(
        update={"applications": ApplicationPolicy(keep_days_after_decision=30)}
    )
    caseworker = auth("caseworker")
    async with (
        live_server(redis_server.url, office30) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        created = await http.post(
            "/api/v1/applications", json={"number": NUMBER}, headers=caseworker
        )
        assert created.status_code == 201 and created.json()["delete_at"] is None
        pin = created.json()["pin"]
        r = await http.post(
            "/api/v1/applications/stage",
            json={"number": NUMBER, "stage": "decided"},
            headers=caseworker,
        )
        assert r.status_code == 200, r.text
        delete_at = r.json()["delete_at"]
        assert delete_at is not None and delete_at.endswith(("+01:00", "+02:00"))
        looked_up = await http.post(
            "/api/v1/applications/lookup", json={"number": NUMBER, "pin": pin}
        )
        assert looked_up.json()["delete_at"] == delete_at

        y, m, d = delete_at[:10].split("-")
        page = await http.post(
            "/status", data={"number": NUMBER, "pin": pin}, headers={"Accept": "text/html"}
        )
        assert f"Diese Auskunft wird am {d}.{m}.{y} gelöscht" in page.text
        english = await http.post(
            "/status?lang=en", data={"number": NUMBER, "pin": pin}, headers={"Accept": "text/html"}
        )
        assert f"will be deleted on {y}-{m}-{d}" in english.text

        async with httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as desk:
            await log_in(desk, "caseworker")
            detail = await desk.get(
                f"/staff/applications/{NUMBER}", headers={"Accept": "text/html"}
            )
            assert f"Wird am {d}.{m}.{y} mit seinem Verlauf gelöscht (30 Tage" in detail.text


async def test_a_starting_server_sweeps(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Numbers whose deletion came while no server ran leave the list when one starts."""
    store = ApplicationStore(redis)
    long_ago = now_ms() - 100 * DAY_MS
    await store.create(NUMBER, PIN_RECORD, "caseworker", long_ago)
    await store.set_stage(NUMBER, Stage.DECIDED, (), "caseworker", long_ago + DAY_MS)
    assert await redis.zscore(applications_recent(), NUMBER) is not None
    async with live_server(redis_server.url, office):

        async def swept() -> bool:
            return await traces(redis, NUMBER) == []

        await eventually(swept, "the starting server to sweep the deleted application")
