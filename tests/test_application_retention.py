"""Application status is kept only as long as it serves the citizen: a decided application
and its history are deleted the configured number of days after the decision, in Redis
itself, and the sweep takes its number off the caseworkers' list."""

from __future__ import annotations

import calendar
import time
from pathlib import Path

import httpx
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, auth, eventually, live_server
from tests.test_config import GOOD, errors_of, write
from tests.test_staff import log_in
from waitboard.core.application_pins import hash_pin
from waitboard.core.applications import DAY_MS, Stage, deletion_due
from waitboard.core.office import ApplicationPolicy, Office
from waitboard.settings import load_office
from waitboard.store.applications import ApplicationStore, app_key, audit_key
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.idempotency import Idempotency
from waitboard.store.keys import applications_deleting, applications_recent

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

    assert await store.sweep() == 1
    assert await traces(redis, NUMBER) == []
    assert await store.sweep() == 0
    assert await redis.zcard(applications_recent()) == 2
    assert await store.application(OTHER) is not None

    await store.create(NUMBER, PIN_RECORD, "caseworker", now_ms())
    assert NUMBER in [a.number for a in await store.recent()]


async def test_a_number_filed_anew_is_not_swept_for_its_predecessor(redis: Redis) -> None:
    """Filed again after its first application was deleted, but before a sweep came: the
    new application stays on the caseworkers' list."""
    store = ApplicationStore(redis, keep_days_after_decision=90)
    long_ago = now_ms() - 100 * DAY_MS
    await store.create(NUMBER, PIN_RECORD, "caseworker", long_ago)
    await store.set_stage(NUMBER, Stage.DECIDED, (), "caseworker", long_ago + DAY_MS)
    assert await store.application(NUMBER) is None
    await store.create(NUMBER, PIN_RECORD, "caseworker", now_ms())
    assert await store.sweep() == 0
    assert [a.number for a in await store.recent()] == [NUMBER]


async def undate(redis: Redis, number: str) -> None:
    """Leave a decided application as a version without retention did: no date, no expiry,
    not in the schedule."""
    await redis.hdel(app_key(number), "delete_at")
    await redis.persist(app_key(number))
    await redis.persist(audit_key(number))
    await redis.zrem(applications_deleting(), number)


async def test_decisions_from_before_dates_were_kept_get_one(redis: Redis) -> None:
    """A decided application without a date is dated from its decision: one decided
    lately is kept until then, one decided long ago goes at once; open ones and dated
    ones are left as they are."""
    store = ApplicationStore(redis, keep_days_after_decision=90)
    earlier = ApplicationStore(redis, keep_days_after_decision=3650)
    lately, long_ago = now_ms() - 10 * DAY_MS, now_ms() - 100 * DAY_MS
    for number, at in ((NUMBER, lately), (OTHER, long_ago), ("AB-2026-0044", long_ago)):
        await store.create(number, PIN_RECORD, "caseworker", at)
    await earlier.set_stage(NUMBER, Stage.DECIDED, (), "caseworker", lately)
    await earlier.set_stage(OTHER, Stage.DECIDED, (), "caseworker", long_ago + DAY_MS)
    await store.create("AB-2026-0045", PIN_RECORD, "caseworker", lately)
    dated = await store.set_stage("AB-2026-0045", Stage.DECIDED, (), "caseworker", now_ms())
    await undate(redis, NUMBER)
    await undate(redis, OTHER)

    assert await store.schedule_undated() == 2
    app = await store.application(NUMBER)
    assert app is not None and app.delete_at == lately + 90 * DAY_MS
    assert 79 * DAY_MS < await redis.pttl(audit_key(NUMBER)) <= 80 * DAY_MS
    assert await store.application(OTHER) is None
    assert await store.sweep() == 1 and await traces(redis, OTHER) == []
    open_one = await store.application("AB-2026-0044")
    assert open_one is not None and open_one.delete_at is None
    assert await store.application("AB-2026-0045") == dated.application
    assert await store.schedule_undated() == 0


async def test_a_replay_record_goes_with_the_application(redis: Redis) -> None:
    """A change in the application's last day keeps its Idempotency-Key record no longer
    than the application: a retry cannot answer for what is gone."""
    store = ApplicationStore(redis, keep_days_after_decision=1)
    decided = now_ms() - DAY_MS + 3_600_000  # deleted in an hour
    await store.create(NUMBER, PIN_RECORD, "caseworker", decided - 1000)
    await store.set_stage(NUMBER, Stage.DECIDED, (), "caseworker", decided)
    idem = Idempotency("wb:app:{apps}:idem:" + "0" * 64, "fingerprint")
    await store.reset_pin(NUMBER, hash_pin("87654321"), "caseworker", now_ms(), idem)
    assert 0 < await redis.pttl(idem.key) <= 3_600_000
    other = Idempotency("wb:app:{apps}:idem:" + "1" * 64, "fingerprint")
    await store.create(OTHER, PIN_RECORD, "caseworker", now_ms(), other)
    assert await redis.ttl(other.key) > 23 * 3600  # an open one keeps the full 24 h


async def test_a_sweep_that_came_early_is_made_good(redis: Redis) -> None:
    """Should a sweep take a number off before its keys expired (a clock ahead), the next
    change puts it back on the list and in the schedule, so a later sweep finds it."""
    store = ApplicationStore(redis, keep_days_after_decision=30)
    await store.create(NUMBER, PIN_RECORD, "caseworker", now_ms())
    decided = await store.set_stage(NUMBER, Stage.DECIDED, (), "caseworker", now_ms())
    await redis.zrem(applications_deleting(), NUMBER)  # as the early sweep did
    await redis.zrem(applications_recent(), NUMBER)
    await store.reset_pin(NUMBER, hash_pin("87654321"), "caseworker", now_ms())
    assert await redis.zscore(applications_recent(), NUMBER) is not None
    assert await redis.zscore(applications_deleting(), NUMBER) == decided.application.delete_at


async def test_the_citizen_and_the_caseworker_see_the_deletion_date(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """With the office's 30 days: the API answers carry delete_at, the citizen's page says
    when the status is deleted (German, English), the caseworker's page too, and before a
    decision it says which date saving one would set."""
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
        month = calendar.month_abbr[int(m)]  # (C locale: "Jan")
        assert f"will be deleted on {int(d)} {month} {y}" in english.text

        async with httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as desk:
            await log_in(desk, "caseworker")
            detail = await desk.get(
                f"/staff/applications/{NUMBER}", headers={"Accept": "text/html"}
            )
            assert f"Wird am {d}.{m}.{y} mit seinem Verlauf gelöscht." in detail.text
            assert "Entschieden“ speichern" not in detail.text
            await http.post("/api/v1/applications", json={"number": OTHER}, headers=caseworker)
            open_one = await desk.get(
                f"/staff/applications/{OTHER}", headers={"Accept": "text/html"}
            )
            # (The decision above was saved a moment ago: its date is today's in 30 days.)
            assert (
                f"Wenn Sie heute „Entschieden“ speichern, werden Antrag und Verlauf am "
                f"{d}.{m}.{y} gelöscht." in open_one.text
            )
            assert 'aria-describedby="stage-hint"' in open_one.text


async def test_a_starting_server_sweeps_and_the_records_leave_the_disk(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Numbers whose deletion came while no server ran leave the list when one starts, and
    Redis rewrites its append-only file, so no record of the application stays on disk."""
    number = "RET-2026-0001"
    aof = redis_server.data_dir / "appendonly.aof"
    store = ApplicationStore(redis)
    long_ago = now_ms() - 100 * DAY_MS
    await store.create(number, PIN_RECORD, "caseworker", long_ago)
    await store.set_stage(number, Stage.DECIDED, (), "caseworker", long_ago + DAY_MS)
    assert await redis.zscore(applications_recent(), number) is not None
    assert number.encode() in aof.read_bytes()
    async with live_server(redis_server.url, office):

        async def swept() -> bool:
            return await traces(redis, number) == []

        await eventually(swept, "the starting server to sweep the deleted application")

        async def rewritten() -> bool:
            info = await redis.info("persistence")
            return not info["aof_rewrite_in_progress"] and number.encode() not in aof.read_bytes()

        await eventually(rewritten, "Redis to rewrite its append-only file without the number")
