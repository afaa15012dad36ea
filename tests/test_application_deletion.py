"""Deleting an application by hand, before any retention date: for one filed by mistake, or
when its citizen asks for erasure. Everything that names the number goes at once, a retry
never deletes or changes anything a second time, and the number is free again."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, LiveServer, SettableClock, auth, eventually, live_server
from tests.openapi_check import check
from tests.test_application_retention import traces
from tests.test_applications import CASEWORKER, HTML, LOOKUP, NUMBER, app_keys, create, set_stage
from tests.test_privacy import everything
from tests.test_staff import log_in
from waitboard.core.application_pins import hash_pin
from waitboard.core.applications import DeletedSince, NoSuchApplication
from waitboard.core.office import Office
from waitboard.store.applications import ApplicationStore, app_key, audit_key
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.idempotency import Idempotency
from waitboard.store.keys import applications_deleting, applications_recent
from waitboard.store.scripts import source
from waitboard.web.application_schemas import DeleteRequest
from waitboard.web.bodies import fingerprint

DELETE = "/api/v1/applications/delete"
PIN_RECORD = hash_pin("12345678")


async def delete(
    http: httpx.AsyncClient, number: str = NUMBER, headers: dict[str, str] | None = None
) -> httpx.Response:
    r = await http.post(DELETE, json={"number": number}, headers={**CASEWORKER, **(headers or {})})
    check(r, "POST", DELETE)
    return r


async def test_a_deleted_application_leaves_nothing_that_names_it(
    http: httpx.AsyncClient, redis: Redis
) -> None:
    """After changes with and without Idempotency-Keys, a delete leaves no key or value that
    names the number; the PIN, the history and the caseworkers' list know it no more."""
    made = await create(http, headers={"Idempotency-Key": "create-1"})
    r = await http.post(
        "/api/v1/applications/stage",
        json={"number": NUMBER, "stage": "documents_missing", "missing": ["Mietvertrag"]},
        headers={**CASEWORKER, "Idempotency-Key": "stage-1"},
    )
    assert r.status_code == 200
    assert (await set_stage(http, "decided")).status_code == 200  # (now in the schedule too)
    assert await traces(redis, NUMBER)

    r = await delete(http, headers={"Idempotency-Key": "delete-1"})
    assert r.status_code == 200 and r.json() == {"number": NUMBER, "deleted": True}
    assert await traces(redis, NUMBER) == []
    # (Nor a plain hash of the delete request, which a few guesses would turn back into it.)
    plain = fingerprint("POST", DELETE, DeleteRequest(number=NUMBER)).encode()
    assert [k for k, v in (await everything(redis)).items() if plain in v] == []
    r = await http.post(LOOKUP, json={"number": NUMBER, "pin": made["pin"]})
    assert r.status_code == 404
    r = await http.get(f"/api/v1/applications/audit?number={NUMBER}", headers=CASEWORKER)
    assert r.status_code == 404 and r.json()["code"] == "application_not_found"


async def test_the_number_can_be_filed_again(http: httpx.AsyncClient, redis: Redis) -> None:
    """After the delete, the same number is a new application with a history of its own."""
    first = await create(http)
    assert (await delete(http)).status_code == 200
    again = await create(http)
    assert again["pin"] != first["pin"] and again["stage"] == "received"
    r = await http.get(f"/api/v1/applications/audit?number={NUMBER}", headers=CASEWORKER)
    assert [e["action"] for e in r.json()["entries"]] == ["created"]
    assert (await http.post(LOOKUP, json={"number": NUMBER, "pin": again["pin"]})).is_success


async def test_a_retried_delete_never_deletes_the_number_filed_again(
    http: httpx.AsyncClient, redis: Redis
) -> None:
    """The same Idempotency-Key again answers the first delete (replayed) and leaves the
    application filed under the number since untouched; without a key, 404."""
    await create(http)
    key = {"Idempotency-Key": "delete-once"}
    assert (await delete(http, headers=key)).status_code == 200
    assert (await delete(http)).status_code == 404
    await create(http)
    before = await app_keys(redis)
    retry = await delete(http, headers=key)
    assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == {"number": NUMBER, "deleted": True}
    assert await app_keys(redis) == before


async def test_a_late_retry_of_an_earlier_change_changes_nothing(
    http: httpx.AsyncClient, redis: Redis
) -> None:
    """A change retried after the delete (its Idempotency-Key again) gets 409 and neither
    files the application again nor changes the one filed under the number since."""
    create_key = {"Idempotency-Key": "create-late"}
    await create(http, headers=create_key)
    stage = {"number": NUMBER, "stage": "in_review"}
    stage_key = {**CASEWORKER, "Idempotency-Key": "stage-late"}
    assert (
        await http.post("/api/v1/applications/stage", json=stage, headers=stage_key)
    ).status_code == 200
    assert (await delete(http)).status_code == 200

    r = await http.post(
        "/api/v1/applications", json={"number": NUMBER}, headers=CASEWORKER | create_key
    )
    assert r.status_code == 409 and r.json()["code"] == "application_deleted_since"
    assert "use a new key" in r.json()["detail"]
    assert await redis.exists(app_key(NUMBER)) == 0
    await create(http)
    before = await app_keys(redis)
    r = await http.post("/api/v1/applications/stage", json=stage, headers=stage_key)
    assert r.status_code == 409 and r.json()["code"] == "application_deleted_since"
    check(r, "POST", "/api/v1/applications/stage")
    assert await app_keys(redis) == before


def record(n: int) -> Idempotency:
    """The n-th Idempotency-Key record of a test (the key as waitboard would name it)."""
    return Idempotency("wb:app:{apps}:idem:" + f"{n:064x}", "fingerprint")


async def test_a_retry_older_than_the_records_the_hash_names_changes_nothing(
    redis: Redis,
) -> None:
    """A record the hash no longer names (over 100 changes came after it) still cannot
    answer for an application deleted and filed anew: 409, and the new one stays as it is."""
    store = ApplicationStore(redis)
    first = record(10_000)
    await store.create(NUMBER, PIN_RECORD, "caseworker", 1000, first)
    for i in range(100):
        await store.reset_pin(NUMBER, PIN_RECORD, "caseworker", 2000 + i, record(i))
    await store.delete(NUMBER, "caseworker", 5000)
    assert NUMBER.encode() in (await redis.get(first.key) or b"")  # not among those named
    assert NUMBER.encode() not in (await redis.get(record(0).key) or b"")  # (but this one)
    await store.create(NUMBER, PIN_RECORD, "caseworker", 6000)
    before = await app_keys(redis)
    with pytest.raises(DeletedSince):
        await store.create(NUMBER, PIN_RECORD, "caseworker", 7000, first)
    after = await app_keys(redis)
    assert NUMBER.encode() not in (await redis.get(first.key) or b"")  # now it says gone
    assert {k: v for k, v in after.items() if k != first.key.encode()} == {
        k: v for k, v in before.items() if k != first.key.encode()
    }


async def test_the_hash_names_only_the_records_of_the_last_24_hours(redis: Redis) -> None:
    """A change a day after another drops the earlier record's name (it has expired), so
    the list stays short for an application worked on for months."""
    store = ApplicationStore(redis)
    day = 24 * 3600 * 1000
    await store.create(NUMBER, PIN_RECORD, "caseworker", 1000, record(1))
    await store.reset_pin(NUMBER, PIN_RECORD, "caseworker", 2000, record(2))
    await store.reset_pin(NUMBER, PIN_RECORD, "caseworker", 1500 + day, record(3))
    named = (await redis.hget(app_key(NUMBER), "idem") or b"").decode().split()
    assert [entry.split("@")[0] for entry in named] == [record(2).key, record(3).key]


async def test_a_key_reused_for_another_application_keeps_its_answer(redis: Redis) -> None:
    """A device's key whose record expired and was used again for another application:
    deleting the first application leaves the other's record, which still replays."""
    store = ApplicationStore(redis)
    reused = record(7)
    await store.create(NUMBER, PIN_RECORD, "caseworker", 1000, reused)
    await redis.delete(reused.key)  # (as its 24 h ran out)
    await store.create("CD-2026-0001", PIN_RECORD, "caseworker", 2000, reused)
    await store.delete(NUMBER, "caseworker", 3000)
    again = await store.create("CD-2026-0001", PIN_RECORD, "caseworker", 4000, reused)
    assert again.replayed and again.application.number == "CD-2026-0001"


async def test_a_change_between_reading_the_records_and_deleting_is_not_missed(
    redis: Redis,
) -> None:
    """When a change names a new record between the store's read and the script, the
    script deletes nothing, the store reads again, and the new record is marked too."""
    store = ApplicationStore(redis)
    await store.create(NUMBER, PIN_RECORD, "caseworker", 1000, record(1))
    read = store.redis.hget
    changes = []

    async def read_then_change(*args: object) -> object:
        named = await read(*args)  # type: ignore[arg-type]
        if not changes:  # a caseworker's change lands right after the first read
            changes.append(await store.reset_pin(NUMBER, PIN_RECORD, "cw", 2000, record(2)))
        return named

    store.redis.hget = read_then_change  # type: ignore[method-assign]
    assert await store.delete(NUMBER, "caseworker", 3000) is False
    assert changes and await traces(redis, NUMBER) == []
    with pytest.raises(DeletedSince):
        await store.reset_pin(NUMBER, PIN_RECORD, "caseworker", 4000, record(2))


async def test_the_script_refuses_records_that_are_not_those_named(redis: Redis) -> None:
    """Given fewer records than the hash names, the script answers records_changed and
    changes nothing."""
    store = ApplicationStore(redis)
    await store.create(NUMBER, PIN_RECORD, "caseworker", 1000, record(1))
    script = redis.register_script(source("applications/delete"))
    keys = [app_key(NUMBER), audit_key(NUMBER), applications_recent(), applications_deleting()]
    args = orjson.dumps({"number": NUMBER, "now": "3000", "device": "caseworker"})
    before = await app_keys(redis)
    for given in ([], [record(2).key], [record(1).key, record(2).key]):
        out = orjson.loads(await script(keys=[*keys, *given], args=[args]))
        assert out == {"error": "records_changed"}, given
    assert await app_keys(redis) == before


async def test_deleting_an_unknown_number_is_a_clear_404(
    http: httpx.AsyncClient, redis: Redis
) -> None:
    """Unknown or malformed numbers get a problem+json that says what to check; no change."""
    await create(http)
    before = await app_keys(redis)
    r = await delete(http, "AB-2026-9999")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert "There is no application AB-2026-9999" in r.json()["detail"]
    r = await delete(http, "no")
    assert r.status_code == 422 and "number" in r.json()["detail"].lower()
    r = await http.post(DELETE, json={"number": NUMBER, "why": "x"}, headers=CASEWORKER)
    assert r.status_code == 422
    assert await app_keys(redis) == before
    with pytest.raises(NoSuchApplication):
        await ApplicationStore(redis).delete("AB-2026-9999", "caseworker", 1)


async def test_an_api_delete_with_created_at_spares_the_number_filed_anew(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """A delete that names the application it read (created_at, as the answer gave it)
    refuses one deleted and filed anew under the number since - 409, nothing deleted - and
    deletes the one it names; a created_at that is no date and time is a 422 for that
    field."""

    clock = SettableClock(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    async with (
        live_server(redis_server.url, office, clock=clock) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        read = await create(http)
        assert (await delete(http)).status_code == 200  # (by another caseworker, say)
        clock.now += timedelta(seconds=1)
        again = await create(http)
        before = await app_keys(redis)
        stale = {"number": NUMBER, "created_at": read["created_at"]}
        r = await http.post(DELETE, json=stale, headers=CASEWORKER)
        check(r, "POST", DELETE)
        assert r.status_code == 409 and r.json()["code"] == "application_filed_anew"
        for bad in ("gestern", "2026-12-04", "2026-12-04T09:00:01"):
            r = await http.post(
                DELETE, json={"number": NUMBER, "created_at": bad}, headers=CASEWORKER
            )
            assert r.status_code == 422, bad
            assert r.json()["field"] == "created_at", r.json()
            assert "2026-11-25T08:03:11+01:00" in r.json()["detail"]
        assert await app_keys(redis) == before
        current = {"number": NUMBER, "created_at": again["created_at"]}
        r = await http.post(DELETE, json=current, headers=CASEWORKER)
        # (What stays: the office's record of who deleted it, which names no number.)
        assert r.status_code == 200 and list(await app_keys(redis)) == [b"wb:app:{apps}:audit"]


async def test_only_caseworkers_and_admins_delete(http: httpx.AsyncClient, redis: Redis) -> None:
    """Other roles and no token get 403 / 401 and the application stays; an admin may."""
    await create(http)
    before = await app_keys(redis)
    for device in ("terminal-sued", "reception-sued", "counter-sued-1", "display-sued"):
        r = await http.post(DELETE, json={"number": NUMBER}, headers=auth(device))
        assert r.status_code == 403 and "needs caseworker or admin" in r.json()["detail"]
    r = await http.post(DELETE, json={"number": NUMBER})
    assert r.status_code == 401
    assert await app_keys(redis) == before
    r = await http.post(DELETE, json={"number": NUMBER}, headers=auth("admin"))
    assert r.status_code == 200


def delete_form(page: str) -> dict[str, str]:
    """The delete form's hidden fields (CSRF token, one-time key, the application's
    creation time), read off the application's page as a browser sends them."""
    form = re.search(r'action="[^"]*/delete[^"]*"(.*?)</form>', page, re.S)
    assert form, "the page has no delete form"
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))
    assert set(fields) == {"csrf", "key", "created_at"}, fields
    return fields


async def test_the_page_deletes_only_once_confirmed(
    server: LiveServer, http: httpx.AsyncClient, redis: Redis
) -> None:
    """Without the tick box nothing is deleted and the page says why; with it the
    application is gone, the list says so, and a second click changes nothing."""
    await create(http)
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as desk:
        await log_in(desk, "caseworker")
        page = (await desk.get(f"/staff/applications/{NUMBER}", headers=HTML)).text
        assert "Antrag löschen" in page and 'name="confirm" value="yes" required' in page
        form = delete_form(page)
        path = f"/staff/applications/{NUMBER}/delete"

        r = await desk.post(path, headers=HTML, data=form)
        assert r.status_code == 303 and r.headers["location"] == f"/staff/applications/{NUMBER}"
        page = (await desk.get(r.headers["location"], headers=HTML)).text
        assert "Nichts gelöscht" in page
        assert await redis.exists(app_key(NUMBER)) == 1

        form = delete_form(page)
        r = await desk.post(path, headers=HTML, data={**form, "confirm": "yes"})
        assert r.status_code == 303 and r.headers["location"] == "/staff/applications"
        listing = (await desk.get("/staff/applications", headers=HTML)).text
        assert f"Antrag {NUMBER} ist mit PIN und Verlauf gelöscht." in listing
        assert f'href="/staff/applications/{NUMBER}"' not in listing
        assert await traces(redis, NUMBER) == []

        twice = await desk.post(path, headers=HTML, data={**form, "confirm": "yes"})
        assert twice.status_code == 303 and twice.headers["location"] == "/staff/applications"
        listing = (await desk.get("/staff/applications", headers=HTML)).text
        assert f"Antrag {NUMBER} ist mit PIN und Verlauf gelöscht." in listing  # (a replay)
        assert await traces(redis, NUMBER) == []
        gone = await desk.get(f"/staff/applications/{NUMBER}", headers=HTML)
        assert gone.status_code == 404

        await create(http)
        page = (await desk.get(f"/staff/applications/{NUMBER}?lang=en", headers=HTML)).text
        assert "Delete application" in page and f"/{NUMBER}/delete?lang=en" in page


async def test_a_delete_form_without_csrf_is_refused(
    server: LiveServer, http: httpx.AsyncClient, redis: Redis
) -> None:
    """A forged form (no CSRF token) deletes nothing."""
    await create(http)
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as desk:
        await log_in(desk, "caseworker")
        r = await desk.post(
            f"/staff/applications/{NUMBER}/delete", headers=HTML, data={"confirm": "yes"}
        )
        assert r.status_code == 403
    assert await redis.exists(app_key(NUMBER)) == 1


async def test_a_page_left_open_does_not_delete_the_number_filed_anew(
    server: LiveServer, http: httpx.AsyncClient, redis: Redis
) -> None:
    """A delete sent from a page opened before the application was deleted and filed anew
    deletes nothing, and the caseworker is shown the new one with a message why."""
    await create(http)
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as desk:
        await log_in(desk, "caseworker")
        page = (await desk.get(f"/staff/applications/{NUMBER}", headers=HTML)).text
        assert (await delete(http)).status_code == 200  # (in another tab, say)
        await create(http)
        before = await app_keys(redis)
        r = await desk.post(
            f"/staff/applications/{NUMBER}/delete",
            headers=HTML,
            data={**delete_form(page), "confirm": "yes"},
        )
        assert r.status_code == 303 and r.headers["location"] == f"/staff/applications/{NUMBER}"
        shown = (await desk.get(r.headers["location"], headers=HTML)).text
        assert "wurde inzwischen gelöscht und neu angelegt; nichts wurde gelöscht" in shown
        assert await app_keys(redis) == before


async def test_the_deleted_records_leave_the_disk_after_a_rewrite_already_running(
    server: LiveServer, http: httpx.AsyncClient, redis: Redis, redis_server: EmbeddedRedis
) -> None:
    """A delete while Redis is rewriting its append-only file (from before the delete)
    waits for that rewrite and starts another: the number leaves the file on disk."""
    aof = redis_server.data_dir / "appendonly.aof"
    await create(http, "DISK-2026-1")
    # A rewrite that takes its time: half a second a key (the delay is the fork's own).
    await redis.config_set("rdb-key-save-delay", 500_000)
    try:
        await redis.bgrewriteaof()
        await redis.config_set("rdb-key-save-delay", 0)

        async def rewriting() -> bool:
            return bool((await redis.info("persistence"))["aof_rewrite_in_progress"])

        await eventually(rewriting, "a slow rewrite to run")
        assert (await delete(http, "DISK-2026-1")).status_code == 200
    finally:
        await redis.config_set("rdb-key-save-delay", 0)

    async def rewritten() -> bool:
        info = await redis.info("persistence")
        return not info["aof_rewrite_in_progress"] and b"DISK-2026-1" not in aof.read_bytes()

    await eventually(rewritten, "the number to leave the append-only file")
