"""What a ticket's push subscription is told, and when (waitboard.core.push): once per
change, "soon" once, "closed" only for a ticket that ended without a call."""

from __future__ import annotations

import base64
import os
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from waitboard.core.domain import TicketStatus
from waitboard.core.push import BadSubscription, Subscription, check_keys, notices
from waitboard.core.state import TicketRecord


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def browser_keys() -> tuple[str, str]:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64(point), b64(os.urandom(16))


SUB = Subscription(
    id="s1",
    ticket_id="t_mitte_x",
    endpoint="https://push.example/abc",
    p256dh="k",
    auth="a",
    ahead=3,
    lang="de",
    url="https://wait.example/tickets/t_mitte_x",
)
WAITING = TicketRecord(
    id="t_mitte_x", number="A007", queue="A", status=TicketStatus.WAITING, issued_at=1, queued_at=1
)


def test_soon_once_when_within_reach() -> None:
    found, told, ended = notices(SUB, WAITING, position=6)
    assert (found, told, ended) == ([], SUB, False)  # five ahead: not yet
    found, told, ended = notices(SUB, WAITING, position=4)
    assert [(n.kind, n.ahead) for n in found] == [("soon", 3)]
    assert told.told_soon and not ended
    found, _, _ = notices(told, WAITING, position=2)
    assert found == []  # at most one "soon"


def test_called_then_recalled_then_nothing_new() -> None:
    called = replace(WAITING, status=TicketStatus.CALLED, called_at=500, counter="2")
    found, told, _ = notices(SUB, called, None)
    assert [(n.kind, n.counter) for n in found] == [("called", "2")]
    assert notices(told, called, None)[0] == []  # the same call: told already
    recalled = replace(called, recall=1)
    found, told, _ = notices(told, recalled, None)
    assert [n.kind for n in found] == ["recalled"]
    assert notices(told, recalled, None)[0] == []


def test_transferred_with_the_new_queue_then_called_there() -> None:
    moved = replace(WAITING, queue="B", transfers=1)
    found, told, _ = notices(SUB, moved, position=9)
    assert [(n.kind, n.queue) for n in found] == [("transferred", "B")]
    called = replace(moved, status=TicketStatus.CALLED, called_at=900, counter="4")
    assert [n.kind for n in notices(told, called, None)[0]] == ["called"]


def test_closed_only_without_a_call_and_the_subscription_ends() -> None:
    cancelled = replace(WAITING, status=TicketStatus.CANCELLED, closed_at=800)
    found, _, ended = notices(SUB, cancelled, None)
    assert [n.kind for n in found] == ["closed"] and ended
    served = replace(WAITING, status=TicketStatus.DONE, called_at=600, counter="1", closed_at=900)
    told = replace(SUB, told_called_at=600)
    found, _, ended = notices(told, served, None)
    assert found == [] and ended  # called and served: nothing more to say


def test_each_change_has_its_own_key() -> None:
    first = replace(WAITING, status=TicketStatus.CALLED, called_at=500, counter="2")
    second = replace(first, called_at=700)
    k1 = notices(SUB, first, None)[0][0].key
    k2 = notices(SUB, second, None)[0][0].key
    assert k1 != k2


def test_browser_keys_are_checked() -> None:
    p256dh, auth = browser_keys()
    check_keys(p256dh, auth)
    not_on_curve = b64(b"\x04" + b"\x01" * 64)
    with pytest.raises(BadSubscription, match="P-256"):
        check_keys(not_on_curve, auth)
    with pytest.raises(BadSubscription, match="P-256"):
        check_keys(b64(b"\x02" + b"\x01" * 32), auth)  # compressed: not what browsers give
    with pytest.raises(BadSubscription, match="16-byte"):
        check_keys(p256dh, b64(os.urandom(12)))
    with pytest.raises(BadSubscription, match="base64url"):
        check_keys("*not base64*", auth)


def test_a_recall_of_a_second_call_is_a_new_message() -> None:
    """A call starts its recalls at 0 again: the recall of the second call has a key of its
    own (else the first call's recall, sent already, would swallow it)."""
    first = replace(WAITING, status=TicketStatus.CALLED, called_at=500, counter="2", recall=1)
    second = replace(first, called_at=900, recall=1, transfers=1, queue="B")
    told = replace(SUB, told_called_at=500, told_recall=1)
    [k1] = [n.key for n in notices(replace(SUB, told_called_at=500), first, None)[0]]
    keys = {n.key for n in notices(told, second, None)[0]}
    told2 = notices(told, second, None)[1]
    recalled_again = replace(second, recall=2)
    [k2] = [n.key for n in notices(told2, recalled_again, None)[0]]
    assert k1 == "recalled-500-1" and k2 == "recalled-900-2" and "called-900" in keys
