"""The webhooks' rules without I/O: the Standard Webhooks signature and its check, what an
answer means, the back-off, when the stream was trimmed past the cursor, what a message
carries (and what it never does), and the ``[[webhooks]]`` configuration's checks."""

from __future__ import annotations

import base64
import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import OFFICE_PATH
from waitboard.core.errors import ConfigError
from waitboard.core.office import parse_office
from waitboard.core.retries import MAX_RETRY_S, retry_after_s
from waitboard.core.webhook_delivery import (
    START,
    Cursor,
    EntryId,
    Verdict,
    backoff_s,
    trimmed_past,
    verdict,
)
from waitboard.core.webhook_signature import SignatureError, secret_key, sign, verify
from waitboard.core.webhooks import PUBLIC_FIELDS, event_message, gap_message

BERLIN = ZoneInfo("Europe/Berlin")
#: The Standard Webhooks specification's published test vector.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID, SPEC_TS, SPEC_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


# --- signature ------------------------------------------------------------------------------


def test_the_signature_reproduces_the_specifications_test_vector() -> None:
    """What a Standard Webhooks library computes, byte for byte: receivers can use theirs."""
    headers = sign(secret_key(SPEC_SECRET), SPEC_ID, SPEC_TS, SPEC_BODY)
    assert headers == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TS),
        "webhook-signature": SPEC_SIGNATURE,
    }


def test_the_receivers_check_accepts_a_signed_message_and_returns_its_id() -> None:
    """verify() takes headers in any case and any one of several signatures (rotation)."""
    headers = {
        "Webhook-Id": SPEC_ID,
        "Webhook-Timestamp": str(SPEC_TS),
        "Webhook-Signature": f"v1,bm9wZQ== {SPEC_SIGNATURE}",
    }
    assert verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TS + 10) == SPEC_ID


@pytest.mark.parametrize(
    "change",
    [
        {"body": b'{"test": 2432232315}'},
        {"webhook-id": "msg_other"},
        {"webhook-timestamp": str(SPEC_TS + 1)},
        {"webhook-signature": "v1,bm9wZQ=="},
        {"webhook-signature": SPEC_SIGNATURE.replace("v1,", "v2,")},
        {"webhook-signature": ""},
        {"secret": "whsec_" + base64.b64encode(b"k" * 32).decode()},
        {"now": SPEC_TS + 301},
        {"now": SPEC_TS - 301},
    ],
)
def test_the_receivers_check_refuses_anything_changed_or_too_old(change: dict[str, Any]) -> None:
    """Another body, id, time, signature or secret, or a replay after 5 minutes: refused."""
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TS),
        "webhook-signature": SPEC_SIGNATURE,
    }
    headers |= {k: v for k, v in change.items() if k.startswith("webhook-")}
    with pytest.raises(SignatureError):
        verify(
            change.get("secret", SPEC_SECRET),
            headers,
            change.get("body", SPEC_BODY),
            now=change.get("now", SPEC_TS),
        )


@pytest.mark.parametrize(
    "secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_" + "QUFB" * 2]
)
def test_a_secret_must_be_whsec_and_base64_of_enough_bytes(secret: str) -> None:
    """No prefix, not base64, or a key of 6 bytes: refused, saying how to make one."""
    with pytest.raises(ValueError, match="make one with"):
        secret_key(secret)


# --- answers, back-off, trimming -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (400, Verdict.REJECTED),
        (410, Verdict.REJECTED),
        (422, Verdict.REJECTED),
        (401, Verdict.RETRY),
        (403, Verdict.RETRY),
        (404, Verdict.RETRY),
        (408, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (302, Verdict.RETRY),
    ],
)
def test_what_an_answer_means(status: int, expected: Verdict) -> None:
    """2xx delivered; a 4xx about this message skips it; down, busy or misconfigured: again."""
    assert verdict(status) is expected


def test_the_back_off_doubles_from_a_second_to_five_minutes_and_honours_retry_after() -> None:
    """1, 2, 4, ... s up to 300 s; a longer Retry-After wins, up to an hour."""
    assert [backoff_s(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_s(10) == backoff_s(1000) == MAX_RETRY_S
    assert backoff_s(1, retry_after=120) == 120
    assert backoff_s(1, retry_after=10**6) == 3600
    assert 1.0 <= backoff_s(1, jitter=0.99) <= 1.1


def test_retry_after_is_read_as_seconds_or_as_a_date() -> None:
    """Both forms of RFC 9110; nonsense is ignored."""
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert retry_after_s("30", now) == 30
    assert retry_after_s("Mon, 07 Dec 2026 12:01:00 GMT", now) == 60
    assert retry_after_s("soon", now) is None
    assert retry_after_s(None, now) is None
    assert retry_after_s("²", now) is None  # (one a receiver may send: no crash, no wait)


def test_stream_ids_order_as_redis_orders_them() -> None:
    """By milliseconds, then sequence; the id right before wraps to the previous ms."""
    assert EntryId.parse("5-10") > EntryId.parse("5-9") > EntryId.parse("4-99")
    assert str(EntryId.parse("7-0").before()) == f"6-{2**64 - 1}"
    assert str(EntryId.parse("7-3").before()) == "7-2"


def test_a_gap_only_where_entries_after_the_cursor_may_have_been_trimmed() -> None:
    """Cursor's entry still there: none; gone: a gap unless the oldest entry follows at once;
    from the start: the seqs tell."""
    at = Cursor("100-0", 7)
    assert not trimmed_past(at, None, None)
    assert not trimmed_past(at, "90-0", 3)
    assert not trimmed_past(at, "100-0", 7)
    assert trimmed_past(at, "150-0", 12)
    assert not trimmed_past(Cursor(str(EntryId.parse("150-0").before()), 11), "150-0", 12)
    assert not trimmed_past(Cursor(START, 7), "150-0", 8)
    assert trimmed_past(Cursor(START, 7), "150-0", 10)


# --- messages --------------------------------------------------------------------------------


def test_a_message_carries_the_public_fields_only() -> None:
    """Number, queue, counter, times: yes; the ticket's id (its page) and anything unnamed: no."""
    fields = {
        "seq": "12",
        "at": "1764061391000",
        "type": "called",
        "ticket": "t_sued_SECRETcapability",
        "number": "A017",
        "queue": "A",
        "counter": "3",
        "contact": "a@example.org",
    }
    message = event_message("sued", "1764061391000-0", fields, BERLIN)
    assert message == {
        "id": "msg_sued_1764061391000-0",
        "type": "called",
        "location": "sued",
        "at": "2025-11-25T10:03:11+01:00",
        "seq": 12,
        "data": {"number": "A017", "queue": "A", "counter": "3"},
    }
    assert all("ticket" not in names for names in PUBLIC_FIELDS.values())


def test_booking_times_become_local_times_and_an_unknown_type_carries_no_fields() -> None:
    """A booking's slot in ISO 8601; a type this version does not know: its name, no data."""
    moved = event_message(
        "sued",
        "1-0",
        {"type": "booking_moved", "queue": "T", "from": "1764061200000", "to": "1764062400000"},
        BERLIN,
    )
    assert moved["data"] == {
        "queue": "T",
        "from": "2025-11-25T10:00:00+01:00",
        "to": "2025-11-25T10:20:00+01:00",
    }
    future = event_message("sued", "2-0", {"type": "new_kind", "code": "x"}, BERLIN)
    assert (future["type"], future["data"]) == ("new_kind", {})


def test_a_gap_message_names_the_last_seq_delivered_and_the_next() -> None:
    """Its id is stable for the same cursor (the same on a retry)."""
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    first = gap_message("sued", "100-0", 7, 12, now)
    assert first == gap_message("sued", "100-0", 7, 12, now + timedelta(seconds=5)) | {
        "at": first["at"]
    }
    assert first["type"] == "gap"
    assert first["data"] == {"last_delivered_seq": 7, "next_seq": 12}


# --- configuration ---------------------------------------------------------------------------


def office_raw(*hooks: dict[str, Any]) -> dict[str, Any]:
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    raw["webhooks"] = list(hooks)
    return raw


def problems(*hooks: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_office(office_raw(*hooks), "office.toml")
    return info.value.errors


GOOD = {"id": "crm", "url": "https://crm.example.org/hooks/waitboard", "secret_file": "/s"}


def test_a_webhook_is_configured_with_its_defaults() -> None:
    """All locations and all events unless narrowed; public addresses only unless allowed."""
    office = parse_office(office_raw(GOOD), "office.toml")
    (hook,) = office.webhooks
    assert hook.serves("nord") and hook.wants("issued") and not hook.allow_private
    narrowed = parse_office(
        office_raw(GOOD | {"locations": ["sued"], "events": ["called"]}), "office.toml"
    ).webhooks[0]
    assert narrowed.serves("sued") and not narrowed.serves("nord")
    assert narrowed.wants("called") and narrowed.wants("gap") and not narrowed.wants("issued")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"secret": "whsec_abc"},
            "webhook crm: secret: do not put the signing secret into the configuration",
        ),
        ({"secret_file": None}, "webhook crm: secret_file: name the file"),
        ({"secret_env": "HOOK_SECRET"}, "exactly one of them"),
        ({"url": "http://crm.example.org/x"}, "webhook crm: url: it must use https"),
        (
            {"url": "https://10.1.2.3/x"},
            "url: it is a private or otherwise non-public address; for an intranet address "
            "set allow_private",
        ),
        ({"url": "https://169.254.169.254/latest"}, "url: it is a cloud metadata"),
        ({"url": "https://127.0.0.2/x"}, "url: it is this machine's own address"),
        ({"locations": ["west"]}, "webhook crm: locations: 'west' is not a configured location"),
        ({"events": ["paid"]}, "webhook crm: events.0: Input should be 'issued'"),
        ({"events": []}, "webhook crm: events: an empty list sends nothing"),
        ({"id": "CRM!"}, "webhook CRM!: id: String should match pattern"),
        ({"retries": 3}, "webhook crm: retries: unknown field"),
    ],
)
def test_configuration_errors_name_the_webhook_and_the_field(
    change: dict[str, Any], expected: str
) -> None:
    """Each mistake is one line naming the file, the webhook and what to do."""
    hook = {k: v for k, v in (GOOD | change).items() if v is not None}
    found = problems(hook)
    assert any(p.startswith("office.toml: ") and expected in p for p in found), found


def test_one_run_names_every_problem_of_a_webhook() -> None:
    """A secret written inline, an http URL and an unknown event: all three at once."""
    found = problems(
        {"id": "crm", "url": "http://crm.example.org/x", "secret": "whsec_x", "events": ["paid"]}
    )
    assert sorted(p.split(": ")[2] for p in found) == ["events.0", "secret", "url"]


def test_intranet_addresses_need_allow_private_and_never_reach_metadata() -> None:
    """allow_private admits 10.x, never 169.254.169.254; two webhooks cannot share an id."""
    office = parse_office(
        office_raw(GOOD | {"url": "https://10.1.2.3/x", "allow_private": True}), "office.toml"
    )
    assert office.webhooks[0].allow_private
    assert any(
        "cloud metadata" in p
        for p in problems(
            GOOD | {"url": "https://169.254.169.254/x", "allow_private": True},
        )
    )
    assert any("id is used more than once" in p for p in problems(GOOD, GOOD))
