"""The audit: every staff action recorded with who did it, atomically with the change
(core/audit.py, lib.lua's audit, store/audit.py)."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.helpers import (
    FAST,
    MONDAY_8,
    OFFICE_PATH,
    LiveServer,
    SettableClock,
    auth,
    eventually,
    live_server,
    office_with_appointments,
    office_with_sued,
)
from waitboard.context import AppContext
from waitboard.core.applications import Stage
from waitboard.core.audit import AuditFilter, AuditRecord, application_ref, ticket_ref
from waitboard.core.errors import BadRequest, ConfigError, InvalidTransition
from waitboard.core.office import parse_office
from waitboard.core.pauses import PauseReason
from waitboard.core.staff import SignedInPerson, Workplace
from waitboard.services import tickets as commands
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.idempotency import Idempotency
from waitboard.store.office_store import Store

ADVISOR = SignedInPerson("p-advisor", Workplace("counter", "sued", ("1", "2")), "pc-sued-2")
DESK = SignedInPerson("p-desk", Workplace("reception", "sued"), "pc-reception")


def _ctx(server: LiveServer) -> AppContext:
    ctx: AppContext = server.app.state.ctx
    return ctx


async def _records(store: Store, **flt: Any) -> list[AuditRecord]:
    """Every record that matches, oldest first."""
    page = await store.audit_page(AuditFilter(**flt), limit=1000)
    return list(reversed(page.records))


async def test_each_action_in_a_ticket_s_life_names_the_person_and_device(
    server: LiveServer,
) -> None:
    """Issue, call, recall, start, transfer, complete, no-show and cancel by signed-in
    people are each recorded once with the person's id, the device and before/after."""
    ctx = _ctx(server)
    loc = ctx.location("sued")
    await commands.counter_command(ctx, ADVISOR, loc, "2", "open", None)
    first = await commands.issue(ctx, DESK, loc, "A", None)
    second = await commands.issue(ctx, DESK, loc, "A", None)
    third = await commands.issue(ctx, DESK, loc, "A", None)
    assert first.ticket and second.ticket and third.ticket
    await commands.counter_command(ctx, ADVISOR, loc, "2", "call-next", None)
    tid = first.ticket.id
    for name in ("recall", "start"):
        await commands.ticket_command(ctx, ADVISOR, loc, tid, name, None, None)
    await commands.ticket_command(ctx, ADVISOR, loc, tid, "transfer", "B", None)
    await commands.counter_command(ctx, ADVISOR, loc, "2", "call-next", None)  # B first
    await commands.ticket_command(ctx, ADVISOR, loc, tid, "start", None, None)
    await commands.ticket_command(ctx, ADVISOR, loc, tid, "complete", None, None)
    await commands.counter_command(ctx, ADVISOR, loc, "2", "call-next", None)
    await commands.ticket_command(ctx, ADVISOR, loc, second.ticket.id, "no-show", None, None)
    await commands.ticket_command(ctx, DESK, loc, third.ticket.id, "cancel", None, None)

    life = await _records(ctx.store, location="sued")
    of_first = [(r.action, r.person, r.device) for r in life if r.ticket == ticket_ref(tid)]
    advisor = ("p-advisor", "pc-sued-2")
    assert of_first == [
        ("issue", "p-desk", "pc-reception"),
        ("call", *advisor),
        ("recall", *advisor),
        ("start", *advisor),
        ("transfer", *advisor),
        ("call", *advisor),
        ("start", *advisor),
        ("complete", *advisor),
    ]
    transfer = next(r for r in life if r.action == "transfer")
    assert transfer.before == {"status": "serving", "queue": "A", "counter": "2"}
    assert transfer.after == {"status": "waiting", "queue": "B", "counter": ""}
    assert transfer.number == first.ticket.number
    assert [(r.action, r.person) for r in life if r.ticket == ticket_ref(second.ticket.id)][-1] == (
        "no_show",
        "p-advisor",
    )
    cancel = [r for r in life if r.ticket == ticket_ref(third.ticket.id)][-1]
    assert (cancel.action, cancel.person, cancel.after) == (
        "cancel",
        "p-desk",
        {"status": "cancelled", "queue": "A", "counter": ""},
    )
    opened = life[0]
    assert (opened.action, opened.counter, opened.person) == ("counter_open", "2", "p-advisor")
    assert (opened.before, opened.after) == ({"state": "closed"}, {"state": "open"})


async def test_a_pause_and_its_end_name_the_person_and_the_reason(server: LiveServer) -> None:
    """Pausing a counter for a break and resuming are recorded with who, and the reason."""
    ctx = _ctx(server)
    loc = ctx.location("sued")
    await commands.counter_command(ctx, ADVISOR, loc, "2", "open", None)
    await commands.counter_command(ctx, ADVISOR, loc, "2", "pause", None, PauseReason.BREAK)
    await commands.counter_command(ctx, ADVISOR, loc, "2", "pause", None, PauseReason.BREAK)
    await commands.counter_command(ctx, ADVISOR, loc, "2", "resume", None)
    records = await _records(ctx.store, location="sued")
    assert [(r.action, r.person, r.device) for r in records] == [
        ("counter_open", "p-advisor", "pc-sued-2"),
        ("counter_pause", "p-advisor", "pc-sued-2"),  # (the same pause again: no record)
        ("counter_resume", "p-advisor", "pc-sued-2"),
    ]
    assert records[1].after == {"state": "paused", "reason": "break"}
    assert records[2].before == {"state": "paused", "reason": "break"}


async def test_a_device_acting_through_the_api_is_recorded_by_its_id(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    """A counter device's open, call and close through the HTTP API are recorded with the
    device's id and no person."""
    base = "/api/v1/locations/sued/counters/1"
    headers = auth("counter-sued-1")
    assert (await http.post(f"{base}/open", headers=headers, json={})).status_code == 200
    r = await http.post(
        "/api/v1/locations/sued/tickets", headers=auth("terminal-sued"), json={"queue": "A"}
    )
    assert r.status_code == 201
    assert (await http.post(f"{base}/call-next", headers=headers, json={})).status_code == 200
    records = await _records(_ctx(server).store, location="sued")
    assert [(r.action, r.person, r.device) for r in records] == [
        ("counter_open", "", "counter-sued-1"),
        ("issue", "", "terminal-sued"),
        ("call", "", "counter-sued-1"),
    ]


async def test_a_replayed_idempotency_key_records_once(server: LiveServer) -> None:
    """The same request under the same Idempotency-Key twice makes one record."""
    ctx = _ctx(server)
    loc = ctx.location("sued")
    idem = Idempotency(keys.idempotency("sued", DESK.id, "k-1"), "fp-1")
    first = await commands.issue(ctx, DESK, loc, "A", idem)
    again = await commands.issue(ctx, DESK, loc, "A", idem)
    assert again.replayed and first.ticket and again.ticket
    assert again.ticket.id == first.ticket.id
    assert [r.action for r in await _records(ctx.store)] == ["issue"]


async def test_a_refused_action_records_nothing(server: LiveServer) -> None:
    """Starting a ticket nobody has called is refused and leaves no record."""
    ctx = _ctx(server)
    loc = ctx.location("sued")
    issued = await commands.issue(ctx, DESK, loc, "A", None)
    assert issued.ticket
    with pytest.raises(InvalidTransition):
        await commands.ticket_command(ctx, ADVISOR, loc, issued.ticket.id, "start", None, None)
    closing_closed = await commands.counter_command(ctx, ADVISOR, loc, "1", "close", None)
    assert closing_closed.counter == "1"
    assert [r.action for r in await _records(ctx.store)] == ["issue"]


async def test_records_older_than_the_retention_are_trimmed(redis: Redis) -> None:
    """With audit_days = 7, a record made eight days before the latest action is gone; one
    of six days before stays."""
    office = office_with_sued(lambda sued: None).model_copy(update={"audit_days": 7})
    clock = SettableClock(MONDAY_8)
    store = Store(redis, office, clock)
    await store.issue("sued", "A", "x", actor=DESK)
    clock.now = MONDAY_8 + timedelta(days=2)
    await store.issue("sued", "A", "x", actor=DESK)
    clock.now = MONDAY_8 + timedelta(days=8, minutes=1)
    await store.issue("sued", "A", "x", actor=DESK)
    kept = await _records(store)
    assert [r.at_ms for r in kept] == [
        int((MONDAY_8 + timedelta(days=d)).timestamp() * 1000) for d in (2,)
    ] + [int((MONDAY_8 + timedelta(days=8, minutes=1)).timestamp() * 1000)]


async def test_filters_narrow_by_person_action_and_day(redis: Redis) -> None:
    """The list narrows to one person, one action and a range of days, and pages on."""
    office = office_with_sued(lambda sued: None)
    clock = SettableClock(MONDAY_8)
    store = Store(redis, office, clock)
    for i in range(5):
        clock.now = MONDAY_8 + timedelta(days=i)
        await store.issue("sued", "A", "x", actor=DESK if i % 2 else ADVISOR)
        await store.issue("nord", "A", "x", actor=DESK)
    assert len(await _records(store, person="p-advisor")) == 3
    assert len(await _records(store, location="nord")) == 5
    day = (MONDAY_8 + timedelta(days=1)).date()
    on_tuesday = await _records(store, day_from=day, day_to=day)
    assert sorted(r.location for r in on_tuesday) == ["nord", "sued"]
    first = await store.audit_page(AuditFilter(), limit=4)
    second = await store.audit_page(AuditFilter(), limit=4, after=first.next)
    third = await store.audit_page(AuditFilter(), limit=4, after=second.next)
    seen = [r.id + r.location for r in first.records + second.records + third.records]
    assert len(seen) == len(set(seen)) == 10 and first.more and not third.more


async def test_application_changes_name_the_person_not_the_number(
    server: LiveServer, redis: Redis
) -> None:
    """Creating, staging and deleting an application are recorded with the person, under a
    keyed reference; after the deletion no key or record holds the number."""
    ctx = _ctx(server)
    caseworker = SignedInPerson("p-case", Workplace("caseworker", None), "pc-case")
    number = "AZ-2026-77731"
    await ctx.applications.create(caseworker, number, None)
    await ctx.applications.set_stage(caseworker, number, Stage.IN_REVIEW, (), None)
    await ctx.applications.delete(caseworker, number, None)
    ref = application_ref(ctx.settings.secret_key, number)
    records = await _records(ctx.store, application=ref)
    assert [(r.action, r.person, r.device) for r in records] == [
        ("application_create", "p-case", "pc-case"),
        ("application_stage", "p-case", "pc-case"),
        ("application_delete", "p-case", "pc-case"),
    ]
    assert records[1].after == {"stage": "in_review", "missing": 0}
    async for key in redis.scan_iter(count=1000):
        assert number.encode() not in key
        if await redis.type(key) == b"stream":
            for _, fields in await redis.xrange(key):
                assert all(number.encode() not in v for v in fields.values())


def test_a_retention_of_less_than_a_week_is_refused() -> None:
    """audit_days = 3 is a configuration error that names the field."""
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    raw["audit_days"] = 3
    with pytest.raises(ConfigError, match="audit_days"):
        parse_office(raw, source="office.toml")
    raw["audit_days"] = 30
    assert parse_office(raw, source="office.toml").audit_days == 30


async def test_a_booking_cancelled_by_staff_is_recorded_and_by_its_holder_not(
    redis: Redis,
) -> None:
    """Staff cancelling a booking is recorded with the slot, never the code or contact;
    the holder cancelling their own is no staff action and is not."""
    office = office_with_appointments()
    clock = SettableClock(MONDAY_8)
    store = Store(redis, office, clock)
    start = int((MONDAY_8 + timedelta(hours=2)).timestamp() * 1000)
    day = "2026-11-30"
    for code in ("a" * 64, "b" * 64):
        await store.book("sued", "T", start, day, code, start + 86_400_000, contact="x@y.org")
    await store.move_booking("sued", "a" * 64, actor=DESK)
    await store.move_booking("sued", "b" * 64)
    [record] = await _records(store)
    assert (record.action, record.person, record.queue) == ("booking_cancel", "p-desk", "T")
    assert record.before == {"status": "booked", "slot": start}
    assert "x@y.org" not in str(record) and "a" * 64 not in str(record)


async def test_a_person_s_few_actions_are_found_among_thousands(redis: Redis) -> None:
    """Two calls of one person among 4,500 records of others (read in Redis a few
    thousand at a time) are both found, newest first."""
    store = Store(redis, office_with_sued(lambda sued: None), SettableClock(MONDAY_8))
    stream = keys.audit("sued")
    base = int(MONDAY_8.timestamp() * 1000)
    async with redis.pipeline(transaction=False) as pipe:
        for i in range(4502):
            person = "p-rare" if i in (10, 4400) else "p-busy"
            pipe.xadd(
                stream, {"action": "call", "person": person, "device": ""}, id=f"{base + i}-0"
            )
        await pipe.execute()
    page = await store.audit_page(AuditFilter(person="p-rare"), limit=50)
    assert [r.at_ms - base for r in page.records] == [4400, 10] and not page.more


def test_a_location_id_the_office_s_own_keys_use_is_refused() -> None:
    """A location with the id 'staff' (whose audit would be the staff directory's) is a
    configuration error that says the id is reserved."""
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    raw["locations"].append({**raw["locations"][-1], "id": "staff"})
    with pytest.raises(ConfigError, match="location staff: id: 'staff' is reserved"):
        parse_office(raw, source="office.toml")


async def test_the_retention_applies_to_idle_and_removed_streams_without_new_records(
    redis: Redis,
) -> None:
    """With audit_days = 7 and nothing written since, the page shows no record older than
    seven days at once, and the trim deletes them from every stream - of a location no
    longer configured, too - while newer records stay."""
    office = office_with_sued(lambda sued: None).model_copy(update={"audit_days": 7})
    clock = SettableClock(MONDAY_8)
    store = Store(redis, office, clock)
    await store.issue("sued", "A", "x", actor=DESK)
    old_ms = int(MONDAY_8.timestamp() * 1000)
    gone = keys.audit("closed-site")
    await redis.xadd(gone, {"action": "issue", "person": "p-desk", "device": ""}, id=f"{old_ms}-0")
    clock.now = MONDAY_8 + timedelta(days=3)
    await store.issue("nord", "A", "x", actor=DESK)
    clock.now = MONDAY_8 + timedelta(days=8)
    assert [r.location for r in await _records(store)] == ["nord"]
    assert await redis.xlen(keys.audit("sued")) == 1  # not yet trimmed: only hidden
    assert await store.trim_audit() == 2
    assert await redis.xlen(keys.audit("sued")) == 0 and await redis.xlen(gone) == 0
    assert await redis.xlen(keys.audit("nord")) == 1
    assert await store.trim_audit() == 0


async def test_the_running_service_trims_the_audit_by_itself(
    redis_server: EmbeddedRedis, redis: Redis
) -> None:
    """A running service deletes records past the retention from a stream nobody writes to
    any more, without any new action."""
    clock = SettableClock(MONDAY_8)
    office = office_with_sued(lambda sued: None).model_copy(update={"audit_days": 7})
    timing = dataclasses.replace(FAST, audit_trim_s=0.2)
    async with live_server(redis_server.url, office, timing=timing, clock=clock) as srv:
        ctx = _ctx(srv)
        await ctx.store.issue("sued", "A", "x", actor=DESK)
        stream = keys.audit("sued")
        assert await ctx.store.redis.xlen(stream) == 1
        clock.now = MONDAY_8 + timedelta(days=8)

        async def trimmed() -> bool:
            return await ctx.store.redis.xlen(stream) == 0

        await eventually(trimmed, "the old record to be trimmed")


async def test_a_malformed_paging_cursor_is_refused(redis: Redis) -> None:
    """A cursor that no page gave is refused as a bad request before Redis sees it."""
    store = Store(redis, office_with_sued(lambda sued: None), SettableClock(MONDAY_8))
    for after in ("garbage", "1-0@", "(1-0@sued", "1-0@sued extra", "x-1@sued"):
        with pytest.raises(BadRequest, match="cursor"):
            await store.audit_page(AuditFilter(), 10, after)
    assert (await store.audit_page(AuditFilter(), 10, "1764486000000-0@sued")).records == []
