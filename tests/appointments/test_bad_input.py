"""Bad input to the appointments API: a clear problem+json, and nothing changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest

from tests.appointments.support import (
    BOOK,
    CHECK_IN,
    SLOTS,
    TUESDAY,
    UNKNOWN_CODE,
    Env,
    book,
    issue,
    local,
    problem,
    slot,
)
from tests.helpers import (
    auth,
    dataset,
)


@dataclass
class Case:
    name: str
    method: str
    path: str  # may contain {code}: a booking at 10:00 today
    status: int
    says: str  # a phrase the detail must contain
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    device: str | None = None
    now: datetime | None = None  # the clock for this request


def booking(start: Any, **more: Any) -> dict[str, Any]:
    return {"queue": "T", "start": start, **more}


JSON = {"Content-Type": "application/json"}
MOVE = "/api/v1/appointments/{code}/move"
CANCEL = "/api/v1/appointments/{code}/cancel"

CASES = [
    # Booking.
    Case(
        "unknown queue",
        "POST",
        BOOK,
        422,
        "Queue 'Z' of sued takes no appointments",
        json={"queue": "Z", "start": slot("09:00")},
    ),
    Case(
        "walk-in queue",
        "POST",
        BOOK,
        422,
        "appointment queues here: T",
        json={"queue": "A", "start": slot("09:00")},
    ),
    Case(
        "off the grid",
        "POST",
        BOOK,
        422,
        "no appointment slot at 2026-12-01 08:50",
        json=booking(slot("08:50", TUESDAY)),
    ),
    Case(
        "outside the plan's hours",
        "POST",
        BOOK,
        422,
        "no appointment slot",
        json=booking(slot("13:00", TUESDAY)),
    ),
    Case(
        "past",
        "POST",
        BOOK,
        422,
        "too soon or past",
        json=booking(slot("09:00", date(2026, 11, 27))),
    ),
    Case(
        "within the notice",
        "POST",
        BOOK,
        422,
        "at least 30 minutes ahead",
        json=booking(slot("08:20")),
    ),
    Case(
        "beyond days_ahead",
        "POST",
        BOOK,
        422,
        "up to 2026-12-14",
        json=booking(slot("09:00", date(2026, 12, 15))),
    ),
    Case(
        "closed day",
        "POST",
        BOOK,
        422,
        "2026-12-24",
        json=booking(slot("10:00", date(2026, 12, 24))),
        now=local("08:00", date(2026, 12, 21)),
    ),
    Case(
        "Saturday",
        "POST",
        BOOK,
        422,
        "No appointments are offered on 2026-12-05",
        json=booking(slot("10:00", date(2026, 12, 5))),
    ),
    Case("naive time", "POST", BOOK, 422, "UTC offset", json=booking("2026-12-01T09:00:00")),
    Case(
        "garbage start",
        "POST",
        BOOK,
        422,
        "not a date and time",
        json=booking("next tuesday at nine"),
    ),
    Case("start too short", "POST", BOOK, 422, "'start'", json=booking("09:00")),
    Case(
        "start not a string",
        "POST",
        BOOK,
        422,
        "'start': Input should be a valid string",
        json=booking(1764576000),
    ),
    Case("start missing", "POST", BOOK, 422, "'start': required", json={"queue": "T"}),
    Case(
        "contact too long",
        "POST",
        BOOK,
        422,
        "'contact'",
        json=booking(slot("09:00"), contact="a@" + "b" * 119),
    ),
    Case(
        "contact with a newline",
        "POST",
        BOOK,
        422,
        "one line",
        json=booking(slot("09:00"), contact="anna@example.org\nBcc: all@example.org"),
    ),
    Case(
        "contact with a control character",
        "POST",
        BOOK,
        422,
        "one line",
        json=booking(slot("09:00"), contact="0151 2345678\x07"),
    ),
    Case(
        "contact neither e-mail nor phone",
        "POST",
        BOOK,
        422,
        "e-mail address or a phone number",
        json=booking(slot("09:00"), contact="call me"),
    ),
    Case(
        "extra field",
        "POST",
        BOOK,
        422,
        "'name': unknown field",
        json=booking(slot("09:00"), name="Anna Muster"),
    ),
    Case("not an object", "POST", BOOK, 422, "must be a JSON object", json=["T"]),
    Case(
        "malformed JSON",
        "POST",
        BOOK,
        422,
        "not valid JSON",
        content=b'{"queue": "T", "start": ',
        headers=JSON,
    ),
    Case(
        "not JSON at all",
        "POST",
        BOOK,
        415,
        "Content-Type: application/json",
        content=b"queue=T&start=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case(
        "huge body",
        "POST",
        BOOK,
        413,
        "at most 16384",
        content=b'{"queue": "T", "start": "' + b"9" * 20000 + b'"}',
        headers=JSON,
    ),
    Case(
        "bad Idempotency-Key",
        "POST",
        BOOK,
        422,
        "Idempotency-Key header must be",
        json=booking(slot("09:00")),
        headers={"Idempotency-Key": "x" * 300},
    ),
    Case(
        "unknown location",
        "POST",
        "/api/v1/locations/west/appointments",
        404,
        "no location 'west'",
        json=booking(slot("09:00")),
    ),
    # Reading slots.
    Case("slots of a garbage day", "GET", SLOTS + "?date=soon", 422, "not a day like"),
    Case(
        "slots beyond the window", "GET", SLOTS + "?date=2027-01-04", 422, "has no bookable slots"
    ),
    Case(
        "slots of a walk-in queue",
        "GET",
        "/api/v1/locations/sued/appointments/A",
        422,
        "takes no appointments",
    ),
    # Looking up.
    Case(
        "get a malformed code",
        "GET",
        "/api/v1/appointments/nonsense",
        422,
        "eight letters and digits",
    ),
    Case(
        "get an unknown code",
        "GET",
        f"/api/v1/appointments/{UNKNOWN_CODE}",
        404,
        "no appointment with this code",
    ),
    # Moving.
    Case(
        "move to garbage",
        "POST",
        MOVE,
        422,
        "not a date and time",
        json={"start": "the day after tomorrow"},
    ),
    Case(
        "move off the grid", "POST", MOVE, 422, "no appointment slot", json={"start": slot("10:10")}
    ),
    Case(
        "move to a naive time",
        "POST",
        MOVE,
        422,
        "UTC offset",
        json={"start": "2026-12-01T09:00:00"},
    ),
    Case(
        "move into the past",
        "POST",
        MOVE,
        422,
        "too soon or past",
        json={"start": slot("09:00", date(2026, 11, 27))},
    ),
    Case(
        "move beyond the window",
        "POST",
        MOVE,
        422,
        "up to 2026-12-14",
        json={"start": slot("09:00", date(2026, 12, 16))},
    ),
    Case("move without start", "POST", MOVE, 422, "'start': required", json={}),
    Case(
        "move with an extra field",
        "POST",
        MOVE,
        422,
        "'queue': unknown field",
        json={"start": slot("11:00"), "queue": "A"},
    ),
    Case(
        "move with a form body",
        "POST",
        MOVE,
        415,
        "Content-Type: application/json",
        content=b"start=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case(
        "move an unknown code",
        "POST",
        f"/api/v1/appointments/{UNKNOWN_CODE}/move",
        404,
        "no appointment with this code",
        json={"start": slot("11:00")},
    ),
    Case(
        "move a malformed code",
        "POST",
        "/api/v1/appointments/xyz/move",
        422,
        "eight letters and digits",
        json={"start": slot("11:00")},
    ),
    # Cancelling.
    Case(
        "cancel with a body", "POST", CANCEL, 422, "'reason': unknown field", json={"reason": "ill"}
    ),
    Case(
        "cancel an unknown code",
        "POST",
        f"/api/v1/appointments/{UNKNOWN_CODE}/cancel",
        404,
        "no appointment with this code",
    ),
    # Checking in.
    Case(
        "check-in without code",
        "POST",
        CHECK_IN,
        422,
        "'code': required",
        json={},
        device="terminal-sued",
    ),
    Case(
        "check-in with a number",
        "POST",
        CHECK_IN,
        422,
        "'code': Input should be a valid string",
        json={"code": 12345678},
        device="terminal-sued",
    ),
    Case(
        "check-in with an empty code",
        "POST",
        CHECK_IN,
        422,
        "'code'",
        json={"code": ""},
        device="terminal-sued",
    ),
    Case(
        "check-in with a huge code",
        "POST",
        CHECK_IN,
        422,
        "'code'",
        json={"code": "K" * 301},
        device="terminal-sued",
    ),
    Case(
        "check-in with an extra field",
        "POST",
        CHECK_IN,
        422,
        "'queue': unknown field",
        json={"code": "{code}", "queue": "T"},
        device="terminal-sued",
    ),
    Case(
        "check-in as a form",
        "POST",
        CHECK_IN,
        415,
        "Content-Type: application/json",
        content=b"code=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        device="terminal-sued",
    ),
    Case(
        "check-in with a huge body",
        "POST",
        CHECK_IN,
        413,
        "at most 16384",
        content=b'{"code": "' + b"K" * 20000 + b'"}',
        headers=JSON,
        device="terminal-sued",
    ),
    # Tickets of the appointment queue only come from check-ins.
    Case(
        "walk-in ticket in T",
        "POST",
        "/api/v1/locations/sued/tickets",
        422,
        "takes appointments only",
        json={"queue": "T"},
        device="reception-sued",
    ),
]


def _fill(value: Any, code: str) -> Any:
    if isinstance(value, str):
        return value.replace("{code}", code)
    if isinstance(value, dict):
        return {k: _fill(v, code) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_bad_input_is_refused_and_changes_nothing(env: Env, case: Case) -> None:
    """Each bad request: its status, problem+json with a detail that says what to change,
    and Redis unchanged."""
    code = (await book(env.http, slot("10:00")))["code"]
    if case.now is not None:
        env.clock.now = case.now
    before = await dataset(env.redis)
    headers = {**(auth(case.device) if case.device else {}), **case.headers}
    r = await env.http.request(
        case.method,
        case.path.format(code=code),
        json=_fill(case.json, code),
        content=case.content,
        headers=headers,
    )
    body = problem(r, case.status, says=case.says)
    assert body["code"], body
    assert await dataset(env.redis) == before, "a refused request changed Redis"


async def test_transfer_into_the_appointment_queue_is_refused(env: Env) -> None:
    """A walk-in ticket cannot be transferred into T (422 appointments_only)."""
    ticket = await issue(env.http, "A")
    before = await dataset(env.redis)
    r = await env.http.post(
        f"/api/v1/tickets/{ticket['id']}/transfer",
        json={"queue": "T"},
        headers=auth("reception-sued"),
    )
    problem(r, 422, "appointments_only", says="check in with the booking code")
    assert await dataset(env.redis) == before
