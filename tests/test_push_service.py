"""The tests' push service is as strict as a real one: what pywebpush and py_vapid send, the
way waitboard sends it, is decrypted and recorded; a message with VAPID, headers or
encryption a real push service or browser would not take is refused and counted as a
request only; programmed answers and unsubscribing answer as FCM and autopush do."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import http_ece
import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from pywebpush import WebPusher, webpush

from tests.helpers import TIMEOUT
from tests.push_service import (
    MAX_BODY,
    PushService,
    Refused,
    Reply,
    b64url,
    check_vapid,
    running_push_service,
)

SUB = "mailto:push@waitboard.test"
PAYLOAD = {"kind": "called", "ticket": "A17", "counter": "3"}

Subscription = dict[str, Any]


@pytest.fixture
async def service() -> AsyncIterator[PushService]:
    async with running_push_service() as s:
        yield s


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        yield client


def new_vapid() -> Vapid:
    """A VAPID key loaded from its raw base64url private scalar, as a setting holds it."""
    scalar = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return Vapid.from_raw(b64url(scalar.to_bytes(32, "big")).encode())


@pytest.fixture(scope="module")
def vapid() -> Vapid:
    return new_vapid()


def public_key(key: Vapid) -> str:
    """The key's applicationServerKey: base64url of the uncompressed point."""
    raw = key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(raw)


def encrypt(subscription: Subscription, payload: object = PAYLOAD) -> bytes:
    """The body waitboard will send: the payload as JSON, encrypted by pywebpush."""
    encoded = WebPusher(subscription).encode(orjson.dumps(payload), content_encoding="aes128gcm")
    body: bytes = encoded["body"]
    return body


def signed(
    service: PushService, key: Vapid, ttl: str | None = "60", **claims: Any
) -> dict[str, str]:
    """Headers of a valid message: VAPID by py_vapid for the service's origin (``claims``
    replace or add claims), TTL and the content coding."""
    vapid_headers: dict[str, str] = key.sign({"aud": service.origin, "sub": SUB, **claims})
    out = {"Authorization": vapid_headers["Authorization"], "Content-Encoding": "aes128gcm"}
    if ttl is not None:
        out["TTL"] = ttl
    return out


async def refused(
    service: PushService,
    http: httpx.AsyncClient,
    subscription: Subscription,
    body: bytes,
    headers: dict[str, str],
) -> httpx.Response:
    """POST one message that must be refused: counted as a request, not delivered."""
    answer = await http.post(subscription["endpoint"], content=body, headers=headers)
    assert not answer.is_success, answer
    assert len(service.requests) == 1
    assert service.requests[0].status == answer.status_code
    assert service.delivered == []
    return answer


# --- accepted ---------------------------------------------------------------------------------


async def test_a_message_from_the_libraries_is_decrypted_and_recorded(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid
) -> None:
    """pywebpush's body with py_vapid's JWT is answered 201 with Location and TTL, and
    recorded with its payload, TTL, Urgency, Topic, claims and key."""
    subscription = service.new_subscription()
    headers = {**signed(service, vapid, ttl="3600"), "Urgency": "high", "Topic": "ticket-A17"}
    answer = await http.post(
        subscription["endpoint"], content=encrypt(subscription), headers=headers
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["location"].startswith(service.origin + "/m/")
    assert answer.headers["ttl"] == "3600"
    [message] = await service.wait_for_messages(subscription)
    assert message.payload == PAYLOAD
    assert (message.ttl, message.urgency, message.topic) == (3600, "high", "ticket-A17")
    assert (message.claims["aud"], message.claims["sub"]) == (service.origin, SUB)
    assert message.vapid_key == public_key(vapid)
    assert message.headers["content-encoding"] == "aes128gcm"


async def test_webpush_reaches_the_service_end_to_end(service: PushService, vapid: Vapid) -> None:
    """pywebpush's ``webpush()`` (aud from the endpoint, exp 12 h ahead) is accepted by a
    subscription made with the same applicationServerKey."""
    subscription = service.new_subscription(application_server_key=public_key(vapid))
    sending = asyncio.create_task(
        asyncio.to_thread(
            webpush,
            subscription,
            orjson.dumps(PAYLOAD).decode(),
            vapid_private_key=vapid,
            vapid_claims={"sub": SUB},
            ttl=120,
            timeout=TIMEOUT,
        )
    )
    [message] = await service.wait_for_messages(subscription)
    assert (await sending).status_code == 201
    assert (message.payload, message.ttl, message.urgency) == (PAYLOAD, 120, None)


async def test_a_subscription_is_what_a_browser_gives(service: PushService) -> None:
    """Endpoint on the service's origin, p256dh a 65-byte point, auth 16 bytes, unpadded."""
    subscription = service.new_subscription()
    assert subscription["endpoint"].startswith(f"http://127.0.0.1:{service.port}/push/")
    assert subscription["expirationTime"] is None
    keys = subscription["keys"]
    assert "=" not in keys["p256dh"] + keys["auth"]
    point = WebPusher(subscription).receiver_key
    assert point is not None and len(point) == 65 and point[0] == 4
    assert len(keys["auth"]) == 22  # 16 bytes
    assert service.new_subscription()["endpoint"] != subscription["endpoint"]


# --- the VAPID check without a server -------------------------------------------------------

ORIGIN = "http://127.0.0.1:8443"
#: Saturday 28 November 2026, 09:00 UTC: a clock set by a test, far from the real one.
SET_CLOCK = 1_795_856_400


def test_the_check_takes_the_clock_it_is_given(vapid: Vapid) -> None:
    """exp is judged by the clock given (a settable one), with https: as sub and up to
    24 h ahead, to the second."""
    claims = {"aud": ORIGIN, "sub": "https://waitboard.test", "exp": SET_CLOCK + 24 * 3600}
    authorization = vapid.sign(claims)["Authorization"]
    assert check_vapid(authorization, ORIGIN, SET_CLOCK, None).claims == claims
    with pytest.raises(Refused, match="more than 24 h ahead"):
        check_vapid(authorization, ORIGIN, SET_CLOCK - 1, None)
    with pytest.raises(Refused, match="has passed"):
        check_vapid(authorization, ORIGIN, time.time(), None)


def test_the_key_may_come_with_spaces_and_in_any_order(vapid: Vapid) -> None:
    """``vapid k=..., t=...`` is read as well as py_vapid's ``vapid t=...,k=...``."""
    authorization = vapid.sign({"aud": ORIGIN, "sub": SUB})["Authorization"]
    token, key = authorization.removeprefix("vapid ").split(",")
    auth = check_vapid(f"Vapid  {key} , {token}", ORIGIN, time.time(), None)
    assert auth.key == public_key(vapid)


# --- refused: VAPID -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        (lambda s: {"aud": f"http://127.0.0.1:{s.port + 1}"}, "is not the endpoint's origin"),
        (lambda s: {"aud": f"https://127.0.0.1:{s.port}"}, "is not the endpoint's origin"),
        (lambda s: {"exp": int(time.time()) - 60}, "has passed"),
        (lambda s: {"exp": int(time.time()) + 24 * 3600 + 60}, "more than 24 h ahead"),
    ],
    ids=["aud-other-port", "aud-other-scheme", "exp-passed", "exp-beyond-24h"],
)
async def test_claims_a_push_service_would_not_take_are_refused(
    service: PushService,
    http: httpx.AsyncClient,
    vapid: Vapid,
    claims: Callable[[PushService], dict[str, Any]],
    reason: str,
) -> None:
    """A JWT with the wrong aud, or an exp passed or more than 24 h ahead, is refused 403."""
    subscription = service.new_subscription()
    headers = signed(service, vapid, **claims(service))
    answer = await refused(service, http, subscription, encrypt(subscription), headers)
    assert answer.status_code == 403
    assert reason in answer.json()["message"]


async def test_a_sub_that_is_no_uri_is_refused(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid
) -> None:
    """A JWT whose sub is neither mailto: nor https: is refused 403 (py_vapid itself would
    not sign it, so the JWT is signed with its no-strict setting)."""
    lax = Vapid(vapid.private_key, conf={"no-strict": True})
    subscription = service.new_subscription()
    headers = signed(service, lax, sub="push@waitboard.test")
    answer = await refused(service, http, subscription, encrypt(subscription), headers)
    assert answer.status_code == 403
    assert "not a mailto: or https: URI" in answer.json()["message"]


async def test_a_signature_by_another_key_is_refused(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid
) -> None:
    """A JWT signed by one key with another key's k is refused 403."""
    subscription = service.new_subscription()
    headers = signed(service, new_vapid())
    token = headers["Authorization"].split("t=", 1)[1].split(",", 1)[0]
    headers["Authorization"] = f"vapid t={token}, k={public_key(vapid)}"
    answer = await refused(service, http, subscription, encrypt(subscription), headers)
    assert answer.status_code == 403
    assert "does not verify with k" in answer.json()["message"]


async def test_another_key_than_the_subscriptions_is_refused(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid
) -> None:
    """A subscription made with one applicationServerKey takes no message signed by
    another, valid as its JWT is (RFC 8292 §4.2)."""
    subscription = service.new_subscription(application_server_key=public_key(new_vapid()))
    answer = await refused(
        service, http, subscription, encrypt(subscription), signed(service, vapid)
    )
    assert answer.status_code == 403
    assert "applicationServerKey" in answer.json()["message"]


@pytest.mark.parametrize("authorization", [None, "Bearer abc", "WebPush abc.def.ghi"])
async def test_no_vapid_authorization_is_refused_401(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid, authorization: str | None
) -> None:
    """Without RFC 8292's ``vapid`` Authorization a message is refused 401."""
    subscription = service.new_subscription()
    headers = signed(service, vapid)
    del headers["Authorization"]
    if authorization is not None:
        headers["Authorization"] = authorization
    answer = await refused(service, http, subscription, encrypt(subscription), headers)
    assert answer.status_code == 401


# --- refused: headers and body ----------------------------------------------------------------


@pytest.mark.parametrize(("ttl", "status"), [(None, 400), ("-1", 400), ("soon", 400)])
async def test_a_missing_or_bad_ttl_is_refused(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid, ttl: str | None, status: int
) -> None:
    """TTL is required and a non-negative integer (RFC 8030 §5.2)."""
    subscription = service.new_subscription()
    headers = signed(service, vapid, ttl=ttl)
    answer = await refused(service, http, subscription, encrypt(subscription), headers)
    assert answer.status_code == status
    assert "TTL" in answer.json()["message"]


@pytest.mark.parametrize(("name", "value"), [("Urgency", "urgent"), ("Topic", "a topic")])
async def test_a_bad_urgency_or_topic_is_refused(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid, name: str, value: str
) -> None:
    """Urgency is one of four words, Topic at most 32 base64url characters (RFC 8030)."""
    subscription = service.new_subscription()
    headers = {**signed(service, vapid), name: value}
    answer = await refused(service, http, subscription, encrypt(subscription), headers)
    assert answer.status_code == 400


@pytest.mark.parametrize("encoding", [None, "aesgcm", "gzip"])
async def test_another_content_encoding_is_refused_415(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid, encoding: str | None
) -> None:
    """Only aes128gcm (RFC 8291) is taken; draft aesgcm and anything else are refused 415."""
    subscription = service.new_subscription()
    headers = signed(service, vapid)
    del headers["Content-Encoding"]
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    answer = await refused(service, http, subscription, encrypt(subscription), headers)
    assert answer.status_code == 415


async def test_a_body_encrypted_for_another_subscription_is_refused(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid
) -> None:
    """A body that does not decrypt with the subscription's keys is refused 400."""
    subscription, other = service.new_subscription(), service.new_subscription()
    answer = await refused(service, http, subscription, encrypt(other), signed(service, vapid))
    assert answer.status_code == 400
    assert "does not decrypt" in answer.json()["message"]


async def test_a_body_of_more_than_one_record_is_refused(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid
) -> None:
    """RFC 8291 §4 allows one record only: a body in small records is refused 400."""
    subscription = service.new_subscription()
    sender = ec.generate_private_key(ec.SECP256R1())
    pusher = WebPusher(subscription)
    body = http_ece.encrypt(
        orjson.dumps(PAYLOAD),
        private_key=sender,
        dh=pusher.receiver_key,
        auth_secret=pusher.auth_key,
        version="aes128gcm",
        rs=32,
    )
    answer = await refused(service, http, subscription, body, signed(service, vapid))
    assert answer.status_code == 400
    assert "more than one record" in answer.json()["message"]


async def test_a_plaintext_that_is_not_json_is_refused(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid
) -> None:
    """What decrypts but is no UTF-8 JSON is refused 400 (waitboard sends JSON only)."""
    subscription = service.new_subscription()
    body = WebPusher(subscription).encode(b"\xff not json", content_encoding="aes128gcm")["body"]
    answer = await refused(service, http, subscription, body, signed(service, vapid))
    assert answer.status_code == 400
    assert "not UTF-8 JSON" in answer.json()["message"]


async def test_a_body_over_4096_bytes_is_refused_413(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid
) -> None:
    """An encrypted body longer than 4096 bytes is refused 413 (RFC 8030 §7.2)."""
    subscription = service.new_subscription()
    body = encrypt(subscription, {"text": "x" * MAX_BODY})
    assert len(body) > MAX_BODY
    answer = await refused(service, http, subscription, body, signed(service, vapid))
    assert answer.status_code == 413


async def test_an_unknown_endpoint_is_404_and_counted(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid
) -> None:
    """A token the service never gave, and any other path, are 404 and counted."""
    subscription = service.new_subscription()
    unknown = {**subscription, "endpoint": f"{service.origin}/push/never-given"}
    answer = await refused(service, http, unknown, encrypt(subscription), signed(service, vapid))
    assert answer.status_code == 404
    assert (await http.get(service.origin + "/")).status_code == 404
    assert [r.status for r in await service.wait_for_requests(2)] == [404, 404]


# --- programmed answers and unsubscribing -----------------------------------------------------


async def test_a_programmed_503_is_answered_then_201(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid
) -> None:
    """503 with Retry-After, the message not delivered; the next one is answered 201."""
    subscription = service.new_subscription()
    service.answer_next(subscription, Reply(503, retry_after=1))
    first = await http.post(
        subscription["endpoint"], content=encrypt(subscription), headers=signed(service, vapid)
    )
    assert (first.status_code, first.headers["retry-after"]) == (503, "1")
    assert service.messages(subscription) == []
    again = await http.post(
        subscription["endpoint"], content=encrypt(subscription), headers=signed(service, vapid)
    )
    assert again.status_code == 201
    assert len(await service.wait_for_messages(subscription)) == 1
    assert [r.status for r in service.requests] == [503, 201]


@pytest.mark.parametrize("reply", [Reply(429, retry_after=30), Reply(410), Reply(404)])
async def test_programmed_refusals_are_answered_and_not_delivered(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid, reply: Reply
) -> None:
    """A programmed 429, 410 or 404 is answered as given, the message not delivered."""
    subscription = service.new_subscription()
    service.answer_next(subscription, reply)
    answer = await refused(
        service, http, subscription, encrypt(subscription), signed(service, vapid)
    )
    assert answer.status_code == reply.status
    assert answer.headers.get("retry-after") == (
        None if reply.retry_after is None else str(reply.retry_after)
    )


async def test_an_invalid_message_uses_up_no_programmed_answer(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid
) -> None:
    """A refused request leaves the programmed answer for the next valid message."""
    subscription = service.new_subscription()
    service.answer_next(subscription, 503)
    await refused(service, http, subscription, encrypt(subscription), signed(service, vapid, None))
    valid = await http.post(
        subscription["endpoint"], content=encrypt(subscription), headers=signed(service, vapid)
    )
    assert valid.status_code == 503


async def test_an_expired_subscription_answers_410(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid
) -> None:
    """After the browser unsubscribes its endpoint answers 410 Gone; others still work."""
    subscription, other = service.new_subscription(), service.new_subscription()
    service.expire(subscription)
    answer = await refused(
        service, http, subscription, encrypt(subscription), signed(service, vapid)
    )
    assert answer.status_code == 410
    delivered = await http.post(
        other["endpoint"], content=encrypt(other), headers=signed(service, vapid)
    )
    assert delivered.status_code == 201


# --- waiting --------------------------------------------------------------------------------


async def test_waiting_for_messages_fails_with_what_arrived(
    service: PushService, http: httpx.AsyncClient, vapid: Vapid
) -> None:
    """A wait that is not met fails the test, listing each request and why it was refused."""
    subscription = service.new_subscription()
    await refused(service, http, subscription, encrypt(subscription), signed(service, vapid, None))
    # A short deadline on purpose: this wait is meant to fail, and how soon does not matter.
    with pytest.raises(pytest.fail.Exception, match=r"(?s)1 message.*-> 400 TTL None"):
        await service.wait_for_messages(subscription, timeout=0.2)
