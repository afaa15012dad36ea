"""Appointments in the pure core: slots, codes, the check-in window, the call order, and
the estimate's share of counter time that bookings reserve. No I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import office_with_appointments
from waitboard.core import appointments, estimate
from waitboard.core.appointments import Arrival, NotASlot
from waitboard.core.domain import pick_queue
from waitboard.core.errors import ConfigError
from waitboard.core.office import AppointmentPlan, Location

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 11, 30)


@pytest.fixture(scope="module")
def sued() -> Location:
    return office_with_appointments().location_by_id["sued"]


def plan_of(loc: Location) -> AppointmentPlan:
    return appointments.plan_of(loc, "T")


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=BERLIN)


# --- slots ----------------------------------------------------------------------------------


def test_a_day_is_cut_into_slots_within_the_hours(sued: Location) -> None:
    """Monday 08:00-12:00 in 20-minute slots: 08:00 ... 11:40, each 20 minutes long."""
    slots = appointments.slots_of_day(plan_of(sued), sued, MONDAY, BERLIN)
    assert [f"{s.start:%H:%M}" for s in slots][:3] == ["08:00", "08:20", "08:40"]
    assert f"{slots[-1].start:%H:%M}" == "11:40" and len(slots) == 12
    assert all(s.end - s.start == timedelta(minutes=20) for s in slots)


def test_weekends_and_closed_days_have_no_slots(sued: Location) -> None:
    """Saturday and the closed 24 December offer nothing."""
    plan = plan_of(sued)
    assert appointments.slots_of_day(plan, sued, date(2026, 12, 5), BERLIN) == []
    assert appointments.slots_of_day(plan, sued, date(2026, 12, 24), BERLIN) == []


def test_a_slot_that_would_run_past_closing_is_not_offered() -> None:
    """08:00-09:50 with 20-minute slots ends with 09:20: a slot never runs past closing."""
    loc = office_with_appointments(hours={"mon": "08:00-09:50"}).location_by_id["sued"]
    slots = appointments.slots_of_day(plan_of(loc), loc, MONDAY, BERLIN)
    assert f"{slots[-1].start:%H:%M}" == "09:20"


def test_the_hour_the_clocks_skip_has_no_slots() -> None:
    """On the night the clocks go forward (28 March 2027) an office open around the clock
    offers no 02:xx slots - they would be the 03:xx ones twice - and every slot is its own
    moment."""
    loc = office_with_appointments(hours={"sun": "00:00-24:00"}).location_by_id["sued"]
    slots = appointments.slots_of_day(plan_of(loc), loc, date(2027, 3, 28), BERLIN)
    starts = [f"{s.start:%H:%M}" for s in slots]
    assert "01:40" in starts and "03:00" in starts
    assert not [s for s in starts if s.startswith("02:")]
    assert len({s.start.astimezone(UTC) for s in slots}) == len(slots) == 23 * 3


def test_bookable_days_skip_what_is_too_soon_closed_or_beyond_the_window(sued: Location) -> None:
    """At 11:30 on Monday the day is over for bookings (30 minutes' notice); weekends and
    24 December are missing; the last day is 14 days ahead."""
    days = appointments.bookable_days(plan_of(sued), sued, at(MONDAY, 11, 30), BERLIN)
    assert days[0] == date(2026, 12, 1)
    assert date(2026, 12, 5) not in days and date(2026, 12, 24) not in days
    assert days[-1] == date(2026, 12, 14)


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        (at(MONDAY, 9, 10), "no appointment slot"),
        (at(MONDAY, 8, 20), "too soon or past"),
        (at(date(2026, 12, 15), 9, 0), "up to 2026-12-14"),
        (datetime(2026, 12, 1, 9, 0), "time zone"),
    ],
)
def test_a_start_that_cannot_be_booked_says_why(
    sued: Location, start: datetime, reason: str
) -> None:
    """Off the grid, too soon, beyond the window, without a zone: a reason for a person."""
    with pytest.raises(NotASlot, match=reason):
        appointments.bookable_slot(plan_of(sued), sued, start, at(MONDAY, 8, 0), BERLIN)


def test_the_same_moment_in_another_offset_is_the_same_slot(sued: Location) -> None:
    """09:00 Berlin booked as 08:00Z is the 09:00 slot."""
    slot = appointments.bookable_slot(
        plan_of(sued), sued, datetime(2026, 11, 30, 8, 0, tzinfo=UTC), at(MONDAY, 8, 0), BERLIN
    )
    assert slot.start == at(MONDAY, 9, 0)


def test_free_places_count_what_is_taken(sued: Location) -> None:
    """A slot with 2 of 3 places taken has 1 free; one with 3 taken shows 0."""
    plan = plan_of(sued)
    nine, twenty_past = at(MONDAY, 9, 0), at(MONDAY, 9, 20)
    taken = {
        appointments.Slot(nine, nine).start_ms: 2,
        appointments.Slot(twenty_past, twenty_past).start_ms: 3,
    }
    views = {
        f"{v.slot.start:%H:%M}": v.free
        for v in appointments.free_slots(plan, sued, MONDAY, BERLIN, taken, at(MONDAY, 8, 0))
    }
    assert views["09:00"] == 1 and views["09:20"] == 0 and views["09:40"] == 3
    assert "08:20" not in views  # within the 30 minutes' notice


# --- codes ----------------------------------------------------------------------------------


def test_codes_are_eight_characters_without_look_alikes() -> None:
    """No 0/O, 1/I/L: a code read out on the phone is typed right."""
    codes = {appointments.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 8 and not set(code) & set("01OIL")


@pytest.mark.parametrize(
    "typed",
    [
        "K7QM-4XPA",
        "k7qm4xpa",
        " k7qm 4xpa ",
        "K7QM 4XPA",
        "https://termine.example/appointments/K7QM-4XPA",
        "https://termine.example/appointments/K7QM-4XPA?lang=en",
    ],
)
def test_a_code_is_read_as_people_type_it_or_a_scanner_reads_it(typed: str) -> None:
    """Lower case, spaces, the dash or the whole address from the QR code: the same code."""
    assert appointments.parse_code(typed) == "K7QM4XPA"


@pytest.mark.parametrize(
    "typed", ["", "K7QM4XP", "K7QM4XPAB", "K0QM4XPA", "KIQM-4XPA", "K7QM/4XPA", "DROP TABLE"]
)
def test_what_is_not_a_code_is_refused(typed: str) -> None:
    """Wrong length or a character the codes never use: not a code."""
    assert appointments.parse_code(typed) is None


def test_a_code_from_an_idempotency_key_is_stable_and_secret_dependent() -> None:
    """The same key gives the same code (a retry finds its booking); another key or
    another secret gives another."""
    a = appointments.code_for_key("secret", "key-1")
    assert a == appointments.code_for_key("secret", "key-1")
    assert a != appointments.code_for_key("secret", "key-2")
    assert a != appointments.code_for_key("other", "key-1")
    assert appointments.parse_code(a) == a


# --- the check-in window --------------------------------------------------------------------


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(MONDAY, 9, 29), Arrival.TOO_EARLY),
        (at(MONDAY, 9, 30), Arrival.ON_TIME),
        (at(MONDAY, 10, 0), Arrival.ON_TIME),
        (at(MONDAY, 10, 10), Arrival.ON_TIME),
        (at(MONDAY, 10, 11), Arrival.LATE),
    ],
)
def test_check_in_opens_early_and_late_arrivals_become_walk_ins(
    sued: Location, now: datetime, expected: Arrival
) -> None:
    """For 10:00: from 09:30 on time, until 10:10; after that late (a walk-in)."""
    assert (
        appointments.arrival(
            plan_of(sued), "2026-11-30", ms(at(MONDAY, 10, 0)), "2026-11-30", ms(now)
        )
        is expected
    )


def test_an_appointment_of_another_day_is_not_checked_in(sued: Location) -> None:
    """Tuesday's appointment on Monday: another day, whatever the time."""
    assert (
        appointments.arrival(
            plan_of(sued), "2026-12-01", ms(at(MONDAY, 10, 0)), "2026-11-30", ms(at(MONDAY, 10, 0))
        )
        is Arrival.OTHER_DAY
    )


def test_a_booking_not_checked_in_after_the_late_window_is_missed(sued: Location) -> None:
    """10:00 booked and not here at 10:11: a no-show, no longer expected."""
    slot = ms(at(MONDAY, 10, 0))
    assert not appointments.missed(plan_of(sued), slot, ms(at(MONDAY, 10, 10)))
    assert appointments.missed(plan_of(sued), slot, ms(at(MONDAY, 10, 11)))


# --- the call order -------------------------------------------------------------------------


def test_a_due_appointment_is_called_before_walk_ins_whatever_the_preference() -> None:
    """Counter order B, A, T; T's first is due: T, although B and A have people."""
    assert pick_queue(["B", "A", "T"], {"A": 4, "B": 2, "T": 1}, {"T": True}) == "T"


def test_walk_ins_come_before_someone_early_for_an_appointment() -> None:
    """T's first is not due yet: the counter's preference among walk-ins decides."""
    assert pick_queue(["T", "B", "A"], {"A": 4, "B": 2, "T": 1}, {"T": False}) == "B"
    assert pick_queue(["T", "B", "A"], {"A": 4, "T": 1}, {"T": False}) == "A"


def test_an_early_appointment_is_called_rather_than_leave_the_counter_idle() -> None:
    """Nobody else waits: the early one is served now."""
    assert pick_queue(["B", "T"], {"T": 1}, {"T": False}) == "T"
    assert pick_queue(["B", "T"], {}, {"T": False}) is None


def test_without_appointments_the_order_is_strict_preference() -> None:
    """The rule walk-in offices rely on is unchanged."""
    assert pick_queue(["B", "A"], {"A": 3, "B": 1}) == "B"
    assert pick_queue(["B", "A"], {"A": 3}) == "A"


# --- the estimate ---------------------------------------------------------------------------


def counters(*queues: tuple[str, ...]) -> list[estimate.CounterNow]:
    return [
        estimate.CounterNow(id=str(i), queues=q, busy_queue=None)
        for i, q in enumerate(queues, start=1)
    ]


def ten_minutes(counter: str, queue: str) -> float:
    return 600.0


def test_bookings_reserve_counter_time_in_the_walk_in_estimate() -> None:
    """One counter for A and T, 10-minute services: three bookings due at 0, 10 and 20
    minutes take the first half hour, so the fourth walk-in waits 60 minutes, not 30."""
    cs = counters(("A", "T"))
    free = estimate.forecast(cs, {"A": 4, "T": 0}, ten_minutes, {}, booked={"T": estimate.Booked()})
    busy = estimate.forecast(
        cs,
        {"A": 4, "T": 0},
        ten_minutes,
        {},
        booked={"T": estimate.Booked(expected=[0.0, 600.0, 1200.0])},
    )
    assert free["A"] == [0.0, 600.0, 1200.0, 1800.0]
    assert busy["A"] == [1800.0, 2400.0, 3000.0, 3600.0]


def test_someone_waiting_for_an_appointment_is_called_at_their_time() -> None:
    """Checked in for 20 minutes from now, with a walk-in queue to serve meanwhile: called
    after the services that fit before, at the first free moment after 20 minutes."""
    cs = counters(("A", "T"))
    waits = estimate.forecast(
        cs, {"A": 5, "T": 1}, ten_minutes, {}, booked={"T": estimate.Booked(waiting=[1200.0])}
    )
    assert waits["T"] == [1200.0]
    assert waits["A"][:2] == [0.0, 600.0] and waits["A"][2] == 1800.0


def test_an_appointment_queue_gets_no_newcomer_estimate() -> None:
    """Nobody joins an appointment queue but at their booked time: no 'wait if you take a
    ticket now' for it, while walk-in queues keep theirs."""
    cs = counters(("A", "T"))
    waits = estimate.forecast_with_newcomers(
        cs, {"A": 1, "T": 1}, ten_minutes, {}, booked={"T": estimate.Booked(waiting=[0.0])}
    )
    assert len(waits["T"]) == 1 and len(waits["A"]) == 2


# --- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"walk_in_queue": "Z"}, "walk_in_queue: 'Z' is not a queue of this location"),
        ({"walk_in_queue": "T"}, "takes appointments itself"),
        ({"slot_minutes": 0}, "slot_minutes"),
        ({"capacity": 0}, "capacity"),
        ({"hours": {"mon": "12:00-08:00"}}, "ends before it starts"),
    ],
)
def test_a_wrong_appointment_plan_is_refused_with_where_and_why(
    change: dict[str, Any], message: str
) -> None:
    """Every mistake names the location, the queue and the field."""
    with pytest.raises(ConfigError) as info:
        office_with_appointments(**change)
    assert any(
        "location sued" in e and "queue T" in e and message in e for e in info.value.errors
    ), info.value.errors


def test_only_the_share_of_bookings_that_come_is_counted() -> None:
    """Of ten bookings with nine in ten coming, nine are counted, spread over the day; all
    of them when everyone comes, none when nobody does."""
    times = [float(i * 600) for i in range(10)]
    assert len(estimate.thinned(times, 0.9)) == 9
    assert estimate.thinned(times, 1.0) == times
    assert estimate.thinned(times, 0.0) == []
    assert estimate.thinned(times, 0.5) == times[1::2]


def test_the_show_up_share_is_learned_and_starts_from_a_prior() -> None:
    """Without data the prior; after days of data mostly what was seen."""
    assert estimate.show_up_share({}, "T") == estimate.SHOW_UP_PRIOR
    learned = estimate.show_up_share({"show:T": 0.6, "show:T:n": 20.0}, "T")
    assert 0.6 < learned < 0.65
