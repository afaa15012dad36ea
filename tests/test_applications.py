"""Application status: the answers of the pure core, the API and the pages over HTTP - a
citizen's lookup with number and PIN, its limits, the caseworkers' changes and their audit
log. What a caseworker types is checked in test_application_fields, the PIN in
test_application_pins."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, LiveServer, auth, live_server
from tests.openapi_check import check
from tests.test_privacy import everything
from tests.test_staff import csrf_of, log_in
from waitboard.core.application_pins import group_pin, keyed_digest
from waitboard.core.applications import (
    Application,
    AuditAction,
    AuditEntry,
    Stage,
    audit_answer,
    public_answer,
    stage_text,
)
from waitboard.core.office import Office
from waitboard.i18n import Translator
from waitboard.store.applications import app_key, audit_key
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.keys import rate_limit

HTML = {"Accept": "text/html"}
CASEWORKER = auth("caseworker")
NUMBER = "AB-2026-0042"
MISSING = ["Kontoauszüge der letzten drei Monate", "Mietvertrag"]
LOOKUP = "/api/v1/applications/lookup"


def from_address(address: str) -> dict[str, str]:
    """Tests reach the server through loopback, a trusted proxy: it names the client."""
    return {"X-Forwarded-For": address}


async def app_keys(redis: Redis) -> dict[bytes, bytes | None]:
    """Every wb:app:* key with its serialised value: equal dumps mean nothing changed."""
    return {key: await redis.dump(key) async for key in redis.scan_iter(match="wb:app:*")}


async def create(
    http: httpx.AsyncClient, number: str = NUMBER, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    r = await http.post(
        "/api/v1/applications", json={"number": number}, headers={**CASEWORKER, **(headers or {})}
    )
    assert r.status_code == 201, r.text
    return dict(check(r, "POST", "/api/v1/applications"))


async def set_stage(
    http: httpx.AsyncClient,
    stage: str,
    missing: list[str] | None = None,
    device: str = "caseworker",
    number: str = NUMBER,
) -> httpx.Response:
    r = await http.post(
        "/api/v1/applications/stage",
        headers=auth(device),
        json={"number": number, "stage": stage, "missing": missing or []},
    )
    check(r, "POST", "/api/v1/applications/stage")
    return r


async def lookup(
    http: httpx.AsyncClient, number: str, pin: str, address: str | None = None, lang: str = ""
) -> httpx.Response:
    r = await http.post(
        LOOKUP + (f"?lang={lang}" if lang else ""),
        json={"number": number, "pin": pin},
        headers=from_address(address) if address else {},
    )
    check(r, "POST", LOOKUP)
    return r


def wrong(pin: str) -> str:
    """Another valid PIN than ``pin``."""
    return f"{(int(pin) + 1) % 10**8:08d}"


@pytest.fixture
async def application(http: httpx.AsyncClient) -> dict[str, Any]:
    """An application, created through the API, with its PIN."""
    return await create(http)


# --- the pure core's answers ------------------------------------------------------------------


def test_the_public_answer_never_says_who() -> None:
    """The citizen's answer has stage, texts, missing list and dates - no device."""
    app = Application(NUMBER, Stage.DOCUMENTS_MISSING, tuple(MISSING), 1, 1_780_000_000_000)
    tz = ZoneInfo("Europe/Berlin")
    answer = public_answer(app, Translator("de"), tz)
    assert set(answer) == {
        "number",
        "stage",
        "stage_text",
        "explanation",
        "missing",
        "updated_at",
        "delete_at",
    }
    assert answer["stage_text"] == "Unterlagen fehlen" and answer["missing"] == MISSING
    assert public_answer(app, Translator("en"), tz)["stage_text"] == "Documents missing"
    entry = AuditEntry.parse(
        {
            "at": "1",
            "device": "caseworker",
            "action": "stage",
            "number": NUMBER,
            "old_stage": "received",
            "stage": "documents_missing",
            "missing": '["Mietvertrag"]',
        }
    )
    assert entry.action is AuditAction.STAGE and entry.old_stage is Stage.RECEIVED
    assert audit_answer(entry, tz)["device"] == "caseworker"


# --- the API --------------------------------------------------------------------------------


async def test_the_right_pin_shows_the_stage(
    http: httpx.AsyncClient, application: dict[str, Any]
) -> None:
    """The right PIN (as printed, any case) shows the stage, its texts and the missing list."""
    assert application["stage"] == "received" and re.fullmatch(r"\d{8}", application["pin"])
    assert application["pin_display"] == group_pin(application["pin"])
    r = await set_stage(http, "documents_missing", MISSING)
    assert r.status_code == 200 and r.json()["missing"] == MISSING
    r = await lookup(http, NUMBER.lower(), application["pin_display"])
    assert r.status_code == 200, r.text
    status = r.json()
    assert status["number"] == NUMBER and status["stage"] == "documents_missing"
    assert status["stage_text"] == "Unterlagen fehlen" and status["missing"] == MISSING
    assert "Unterlagen" in status["explanation"] and status["updated_at"]
    assert "device" not in r.text and "caseworker" not in r.text
    assert r.headers["cache-control"] == "no-store"
    english = await lookup(http, NUMBER, application["pin"], lang="en")
    assert english.json()["stage_text"] == "Documents missing"
    # An app or a terminal asks in the person's language; the answer speaks it.
    for lang in ("tr", "ar", "uk", "ru", "ls"):
        answer = (await lookup(http, NUMBER, application["pin"], lang=lang)).json()
        shown = stage_text(Stage("documents_missing"), Translator(lang))
        assert answer["stage_text"] == shown, lang
        assert shown != "Unterlagen fehlen" or lang == "ls"  # (easy German says it alike)


async def test_a_wrong_pin_and_an_unknown_number_get_the_same_answer(
    http: httpx.AsyncClient, application: dict[str, Any]
) -> None:
    """A wrong PIN and an unknown number get byte-identical answers: status, headers, body."""
    wrong_pin = await lookup(http, NUMBER, wrong(application["pin"]), "198.51.100.1")
    unknown = await lookup(http, "ZZ-9999-9999", application["pin"], "198.51.100.2")
    assert wrong_pin.status_code == unknown.status_code == 404
    assert wrong_pin.content == unknown.content
    assert wrong_pin.headers["content-type"] == "application/problem+json"
    assert "not right" in wrong_pin.json()["detail"]

    def headers(r: httpx.Response) -> dict[str, str]:
        return {k: v for k, v in r.headers.items() if k != "date"}

    assert headers(wrong_pin) == headers(unknown)


async def test_the_11th_wrong_attempt_from_one_address_is_refused(
    http: httpx.AsyncClient, redis: Redis, application: dict[str, Any]
) -> None:
    """The 11th wrong lookup in a minute from loopback gets 429; right ones do not count."""
    pin = application["pin"]
    for _ in range(10):
        assert (await lookup(http, NUMBER, pin)).status_code == 200
    for _ in range(10):
        assert (await lookup(http, NUMBER, wrong(pin))).status_code == 404
    refused = await lookup(http, NUMBER, wrong(pin))
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["code"] == "too_many_attempts"
    assert "try again in 1 minute" in refused.json()["detail"]
    assert (await lookup(http, NUMBER, pin)).status_code == 429
    assert (await lookup(http, NUMBER, pin, "198.51.100.7")).status_code == 200
    stored = await everything(redis)
    assert not [k for k, v in stored.items() if b"127.0.0.1" in k + v]
    by_address = rate_limit(keyed_digest("test-secret", "address", "127.0.0.1"), "lookup")
    by_number = rate_limit(keyed_digest("test-secret", "number", NUMBER), "lookup")
    # The right lookup from 198.51.100.7 gave its count back: nothing is left of it.
    assert {k for k in stored if k.startswith(b"wb:rl:")} == {
        by_address.encode(),
        by_number.encode(),
    }
    assert 0 < await redis.pttl(by_address) <= 10 * 60_000  # all ten back: a minute each


async def test_wrong_attempts_per_number_lock_it_whether_or_not_it_exists(
    http: httpx.AsyncClient, application: dict[str, Any]
) -> None:
    """20 wrong lookups lock a number for an hour, known or not, with the same answer."""
    pin = application["pin"]
    for number in (NUMBER, "ZZ-0000-0001"):
        for i in range(20):
            r = await lookup(http, number, wrong(pin), f"203.0.113.{i}")
            assert r.status_code == 404
    locked = [
        await lookup(http, number, wrong(pin), "198.51.100.9")
        for number in (NUMBER, "ZZ-0000-0001")
    ]
    assert [r.status_code for r in locked] == [429, 429]
    assert locked[0].json() == locked[1].json()
    assert int(locked[0].headers["retry-after"]) > 3000
    assert (await lookup(http, NUMBER, pin, "198.51.100.10")).status_code == 429
    assert (await lookup(http, "ZZ-0000-0002", pin, "198.51.100.10")).status_code == 404


async def test_the_limit_holds_across_server_processes(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Two servers on one Redis share the count: the 11th wrong lookup is refused at either."""
    async with (
        live_server(redis_server.url, office) as one,
        live_server(redis_server.url, office) as two,
        httpx.AsyncClient(base_url=one.url, timeout=TIMEOUT) as a,
        httpx.AsyncClient(base_url=two.url, timeout=TIMEOUT) as b,
    ):
        pin = (await create(a))["pin"]
        for client in (a, b):
            for _ in range(5):
                assert (await lookup(client, NUMBER, wrong(pin))).status_code == 404
        assert (await lookup(a, NUMBER, wrong(pin))).status_code == 429
        assert (await lookup(b, NUMBER, pin)).status_code == 429


async def test_the_audit_log_records_who_changed_what(
    http: httpx.AsyncClient, redis: Redis, application: dict[str, Any]
) -> None:
    """The audit log keeps device, action, old and new stage and missing list of each change."""
    await set_stage(http, "in_review", device="admin")
    await set_stage(http, "documents_missing", MISSING)
    await set_stage(http, "documents_missing", MISSING)  # nothing new: no entry
    r = await http.post("/api/v1/applications/pin", json={"number": NUMBER}, headers=CASEWORKER)
    assert check(r, "POST", "/api/v1/applications/pin")["pin"] != application["pin"]
    await set_stage(http, "decided", device="admin")
    r = await http.get(
        "/api/v1/applications/audit", params={"number": NUMBER.lower()}, headers=auth("admin")
    )
    history = check(r, "GET", "/api/v1/applications/audit")
    assert history["application"]["stage"] == "decided"
    assert [
        (e["device"], e["action"], e["old_stage"], e["stage"], e["missing"])
        for e in history["entries"]
    ] == [
        ("caseworker", "created", None, "received", []),
        ("admin", "stage", "received", "in_review", []),
        ("caseworker", "stage", "in_review", "documents_missing", MISSING),
        ("caseworker", "pin_reset", "documents_missing", "documents_missing", MISSING),
        ("admin", "stage", "documents_missing", "decided", []),
    ]
    assert all(e["number"] == NUMBER and e["at"] for e in history["entries"])
    assert await redis.xlen(audit_key(NUMBER)) == 5
    assert await redis.type(audit_key(NUMBER)) == b"stream"


@dataclass
class Bad:
    name: str
    method: str
    path: str
    status: int
    says: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(CASEWORKER))


STAGE = "/api/v1/applications/stage"
CREATE = "/api/v1/applications"
BAD = [
    Bad(
        "number too short",
        "POST",
        CREATE,
        422,
        "'number': String should have at least 4",
        {"number": "AB1"},
    ),
    Bad(
        "number with a slash",
        "POST",
        CREATE,
        422,
        "'number': String should match",
        {"number": "AB/2026"},
    ),
    Bad("number missing", "POST", CREATE, 422, "'number': required", {}),
    Bad(
        "unknown field",
        "POST",
        CREATE,
        422,
        "'pin': unknown field",
        {"number": "CD-1", "pin": "12345678"},
    ),
    Bad("number not a string", "POST", CREATE, 422, "valid string", {"number": 1234}),
    Bad("number taken", "POST", CREATE, 409, "exists already", {"number": NUMBER}),
    Bad("taken in lower case", "POST", CREATE, 409, "exists already", {"number": NUMBER.lower()}),
    Bad(
        "malformed JSON",
        "POST",
        CREATE,
        422,
        "not valid JSON",
        content=b'{"number": "A',
        headers={**CASEWORKER, "Content-Type": "application/json"},
    ),
    Bad(
        "not JSON",
        "POST",
        CREATE,
        415,
        "Content-Type: application/json",
        content=b"number=CD-1234",
        headers={**CASEWORKER, "Content-Type": "application/x-www-form-urlencoded"},
    ),
    Bad(
        "body over 16 KiB",
        "POST",
        CREATE,
        413,
        "at most 16384",
        content=b'{"number": "' + b"A" * 17000 + b'"}',
        headers={**CASEWORKER, "Content-Type": "application/json"},
    ),
    Bad(
        "bad Idempotency-Key",
        "POST",
        CREATE,
        422,
        "Idempotency-Key header must be",
        {"number": "CD-1234"},
        headers={**CASEWORKER, "Idempotency-Key": "x" * 300},
    ),
    Bad(
        "no token", "POST", CREATE, 401, "Authorization: Bearer", {"number": "CD-1234"}, headers={}
    ),
    Bad(
        "bad lang",
        "POST",
        CREATE + "?lang=fr",
        422,
        "lang must be one of de, en, tr, ar, uk, ru, ls",
        {"number": "CD-1234"},
    ),
    Bad(
        "stage of an unknown application",
        "POST",
        STAGE,
        404,
        "no application CD-1234",
        {"number": "CD-1234", "stage": "in_review"},
    ),
    Bad(
        "unknown stage",
        "POST",
        STAGE,
        422,
        "'stage': Input should be",
        {"number": NUMBER, "stage": "approved"},
    ),
    Bad(
        "documents missing without a list",
        "POST",
        STAGE,
        422,
        "name at least one",
        {"number": NUMBER, "stage": "documents_missing"},
    ),
    Bad(
        "documents missing with a blank line only",
        "POST",
        STAGE,
        422,
        "match pattern",
        {"number": NUMBER, "stage": "documents_missing", "missing": ["  "]},
    ),
    Bad(
        "a list with another stage",
        "POST",
        STAGE,
        422,
        "leave it empty",
        {"number": NUMBER, "stage": "decided", "missing": ["Mietvertrag"]},
    ),
    Bad(
        "21 missing documents",
        "POST",
        STAGE,
        422,
        "at most 20 items",
        {"number": NUMBER, "stage": "documents_missing", "missing": ["x"] * 21},
    ),
    Bad(
        "a missing document of 201 characters",
        "POST",
        STAGE,
        422,
        "at most 200 char",
        {"number": NUMBER, "stage": "documents_missing", "missing": ["x" * 201]},
    ),
    Bad(
        "a missing document of two lines",
        "POST",
        STAGE,
        422,
        "match pattern",
        {"number": NUMBER, "stage": "documents_missing", "missing": ["Miet\nvertrag"]},
    ),
    Bad(
        "missing not a list",
        "POST",
        STAGE,
        422,
        "valid list",
        {"number": NUMBER, "stage": "documents_missing", "missing": "Mietvertrag"},
    ),
    Bad(
        "new PIN of an unknown application",
        "POST",
        "/api/v1/applications/pin",
        404,
        "no application CD-1234",
        {"number": "CD-1234"},
    ),
    Bad("history without a number", "GET", "/api/v1/applications/audit", 422, "4 to 20 characters"),
    Bad(
        "history of a malformed number",
        "GET",
        "/api/v1/applications/audit?number=A%2FB",
        422,
        "4 to 20 characters",
    ),
    Bad(
        "history of an unknown application",
        "GET",
        "/api/v1/applications/audit?number=CD-1234",
        404,
        "no application CD-1234",
    ),
    Bad(
        "lookup with a short PIN",
        "POST",
        LOOKUP,
        422,
        "'pin': String should",
        {"number": NUMBER, "pin": "1234567"},
        headers={},
    ),
    Bad(
        "lookup with letters for a PIN",
        "POST",
        LOOKUP,
        422,
        "'pin': String should match",
        {"number": NUMBER, "pin": "abcd efgh"},
        headers={},
    ),
    Bad(
        "lookup without a PIN",
        "POST",
        LOOKUP,
        422,
        "'pin': required",
        {"number": NUMBER},
        headers={},
    ),
    Bad(
        "lookup of a malformed number",
        "POST",
        LOOKUP,
        422,
        "'number': String should match",
        {"number": "AB 2026", "pin": "12345678"},
        headers={},
    ),
    Bad(
        "lookup with a bad lang",
        "POST",
        LOOKUP + "?lang=xx",
        422,
        "lang must be",
        {"number": NUMBER, "pin": "12345678"},
        headers={},
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[c.name for c in BAD])
async def test_bad_input_gets_a_problem_and_changes_nothing(
    http: httpx.AsyncClient, redis: Redis, application: dict[str, Any], case: Bad
) -> None:
    """Bad input gets its status and a problem+json saying what to change; wb:app:* unchanged."""
    before = await app_keys(redis)
    r = await http.request(
        case.method, case.path, json=case.json, content=case.content, headers=case.headers
    )
    assert r.status_code == case.status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert case.says in r.json()["detail"], r.json()["detail"]
    check(r, case.method, case.path.split("?")[0])
    assert await app_keys(redis) == before


@pytest.mark.parametrize(
    "device", ["terminal-sued", "reception-sued", "counter-sued-1", "display-sued", "sensor-sued"]
)
async def test_other_roles_cannot_change_applications(
    http: httpx.AsyncClient, redis: Redis, application: dict[str, Any], device: str
) -> None:
    """Other roles get 403 for every caseworker operation, and nothing changes."""
    before = await app_keys(redis)
    for method, path, body in (
        ("POST", CREATE, {"number": "CD-1234"}),
        ("POST", STAGE, {"number": NUMBER, "stage": "decided"}),
        ("POST", "/api/v1/applications/pin", {"number": NUMBER}),
        ("GET", f"/api/v1/applications/audit?number={NUMBER}", None),
    ):
        r = await http.request(method, path, json=body, headers=auth(device))
        assert r.status_code == 403, (path, r.text)
        assert "needs caseworker or admin" in r.json()["detail"]
    assert await app_keys(redis) == before


async def test_a_caseworker_cannot_be_a_terminal(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    """A caseworker's token issues no ticket, calls nobody, opens no terminal or desk page."""
    r = await http.post("/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=CASEWORKER)
    assert r.status_code == 403
    r = await http.post("/api/v1/locations/sued/counters/1/call-next", headers=CASEWORKER)
    assert r.status_code == 403
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as desk:
        assert (await log_in(desk, "caseworker")).headers["location"] == "/staff/applications"
        for path in ("/terminal/sued", "/staff/sued/counters/1", "/staff/sued/reception"):
            assert (await desk.get(path, headers=HTML)).status_code == 403, path


async def test_the_pin_is_not_stored_in_clear(http: httpx.AsyncClient, redis: Redis) -> None:
    """No PIN, plain or grouped, is anywhere in Redis (a decided application's schedule
    included); every wb:app key is a documented one."""
    pins = [(await create(http, f"PIN-{i:04d}"))["pin"] for i in range(3)]
    first = await create(http, "PIN-0100", {"Idempotency-Key": "create-pin-0100"})
    pins.append(first["pin"])
    replay = await http.post(
        CREATE,
        json={"number": "PIN-0100"},
        headers={**CASEWORKER, "Idempotency-Key": "create-pin-0100"},
    )
    assert replay.status_code == 201 and replay.json()["pin"] is None
    r = await http.post("/api/v1/applications/pin", json={"number": "PIN-0000"}, headers=CASEWORKER)
    pins.append(r.json()["pin"])
    assert (await set_stage(http, "decided", number="PIN-0001")).status_code == 200
    stored = await everything(redis)
    assert b"wb:app:{apps}:deleting" in stored
    for pin in pins:
        for form in (pin, group_pin(pin)):
            assert not [k for k, v in stored.items() if form.encode() in k + v], form
    record = await redis.hget(app_key("PIN-0000"), "pin")
    assert record is not None and record.startswith(b"scrypt$")
    documented = re.compile(
        rb"wb:app:\{apps\}:(a:[A-Z0-9-]+|audit:[A-Z0-9-]+|audit|recent|deleting|"
        rb"idem:[0-9a-f]{64})"
    )
    assert [k for k in stored if k.startswith(b"wb:app:") and not documented.fullmatch(k)] == []


async def test_a_create_happens_once(http: httpx.AsyncClient, redis: Redis) -> None:
    """A retried create (same key) replays without the PIN; the number again is 409."""
    key = {"Idempotency-Key": "create-once"}
    await create(http, "ONCE-1", key)
    replay = await http.post(CREATE, json={"number": "ONCE-1"}, headers={**CASEWORKER, **key})
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["pin"] is None and replay.json()["pin_display"] is None
    assert await redis.xlen(audit_key("ONCE-1")) == 1
    again = await http.post(CREATE, json={"number": "ONCE-1"}, headers=CASEWORKER)
    assert again.status_code == 409 and again.json()["code"] == "application_exists"
    other = await http.post(CREATE, json={"number": "ONCE-2"}, headers={**CASEWORKER, **key})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert await redis.exists(app_key("ONCE-2")) == 0


async def test_redis_unreachable_is_a_clear_503(tmp_path: Path, office: Office) -> None:
    """With Redis stopped, lookup, create and the status page answer a clear 503."""
    redis = EmbeddedRedis(tmp_path / "redis").start()
    try:
        async with (
            live_server(redis.url, office) as srv,
            httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
        ):
            pin = (await create(http))["pin"]
            redis.stop()
            r = await http.post(LOOKUP, json={"number": NUMBER, "pin": pin})
            assert r.status_code == 503 and r.headers["retry-after"]
            assert r.headers["content-type"] == "application/problem+json"
            r = await http.post(CREATE, json={"number": "CD-1234"}, headers=CASEWORKER)
            assert r.status_code == 503 and "Idempotency-Key" in r.json()["detail"]
            page = await http.post("/status", headers=HTML, data={"number": NUMBER, "pin": pin})
            assert page.status_code == 503 and "nicht erreichbar" in page.text
            assert "Traceback" not in page.text
    finally:
        redis.stop()


# --- the pages over HTTP --------------------------------------------------------------------


async def test_the_status_page_answers_on_the_page(
    http: httpx.AsyncClient, application: dict[str, Any]
) -> None:
    """/status answers on the page: stage or readable error, no PIN in a URL, not cached."""
    page = await http.get("/status")
    assert page.status_code == 200 and 'method="post"' in page.text
    assert 'for="number"' in page.text and 'for="pin"' in page.text
    assert "set-cookie" not in page.headers
    await set_stage(http, "documents_missing", MISSING)
    r = await http.post(
        "/status", headers=HTML, data={"number": NUMBER.lower(), "pin": application["pin_display"]}
    )
    assert r.status_code == 200 and not r.history and r.url.path == "/status"
    assert "Unterlagen fehlen" in r.text and all(m in r.text for m in MISSING)
    assert application["pin"] not in r.text and application["pin_display"] not in r.text
    assert r.headers["cache-control"] == "no-store" and "set-cookie" not in r.headers
    english = await http.post(
        "/status?lang=en", headers=HTML, data={"number": NUMBER, "pin": application["pin"]}
    )
    assert "Documents missing" in english.text
    r = await http.post(
        "/status", headers=HTML, data={"number": NUMBER, "pin": wrong(application["pin"])}
    )
    assert r.status_code == 404 and "Antragsnummer oder PIN stimmen nicht" in r.text
    assert f'value="{NUMBER}"' in r.text
    r = await http.post("/status", headers=HTML, data={"number": "A/B", "pin": "12"})
    assert r.status_code == 422
    assert "Bitte prüfen Sie die Antragsnummer" in r.text
    assert "Bitte geben Sie die PIN mit ihren 8 Ziffern ein" in r.text
    for _ in range(9):  # one wrong attempt is counted already
        await http.post(
            "/status", headers=HTML, data={"number": NUMBER, "pin": wrong(application["pin"])}
        )
    r = await http.post("/status", headers=HTML, data={"number": NUMBER, "pin": application["pin"]})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "Zu viele falsche Versuche" in r.text
    overview = await http.get("/")
    assert 'href="/status"' in overview.text


async def test_caseworker_pages_create_change_and_show_the_history(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Caseworker pages create (PIN shown once), set documents missing, show the history."""
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as desk:
        await log_in(desk, "caseworker")
        start = await desk.get("/staff/applications", headers=HTML)
        assert start.status_code == 200 and "Antrag anlegen" in start.text
        key = re.search(r'name="key" value="([^"]+)"', start.text)
        assert key
        form = {"csrf": csrf_of(start.text), "key": key.group(1), "number": "cd-2026-7"}
        made = await desk.post("/staff/applications", headers=HTML, data=form)
        assert made.status_code == 201
        pin = re.search(r"data-pin>(\d{4} \d{4})<", made.text)
        assert pin and "nicht noch einmal angezeigt" in made.text
        assert "data-slip" in made.text and f"{server.url}/status" in made.text
        twice = await desk.post("/staff/applications", headers=HTML, data=form)
        assert twice.status_code == 201 and pin.group(1) not in twice.text
        assert "nur beim ersten Mal" in twice.text and "data-slip" not in twice.text

        detail = await desk.get("/staff/applications/CD-2026-7", headers=HTML)
        assert detail.status_code == 200 and "Eingegangen" in detail.text
        key = re.search(
            r'stage[^"]*">\s*<input type="hidden" name="csrf" value="[^"]+">\s*'
            r'<input type="hidden" name="key" value="([^"]+)"',
            detail.text,
        )
        assert key
        r = await desk.post(
            "/staff/applications/CD-2026-7/stage",
            headers=HTML,
            data={
                "csrf": csrf_of(detail.text),
                "key": key.group(1),
                "stage": "documents_missing",
                "missing": "\n".join(MISSING) + "\n\n",
            },
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/staff/applications/CD-2026-7"
        detail = await desk.get("/staff/applications/CD-2026-7", headers=HTML)
        assert "Gespeichert: Unterlagen fehlen." in detail.text
        assert "Eingegangen → Unterlagen fehlen" in detail.text
        assert "<td>caseworker</td>" in detail.text
        r = await desk.get("/staff/applications?number=cd-2026-7", headers=HTML)
        assert r.status_code == 303 and r.headers["location"] == "/staff/applications/CD-2026-7"
        r = await desk.get("/staff/applications?number=CD-0000-0", headers=HTML)
        assert "Es gibt keinen Antrag CD-0000-0" in r.text
        assert 'value="CD-0000-0"' in r.text
    history = await http.get("/api/v1/applications/audit?number=CD-2026-7", headers=CASEWORKER)
    assert [e["action"] for e in history.json()["entries"]] == ["created", "stage"]
    found = await http.post(LOOKUP, json={"number": "CD-2026-7", "pin": pin.group(1)})
    assert found.json()["missing"] == MISSING


async def test_the_pin_slip_names_the_office_and_the_configured_public_address(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """The slip names the office as configured, in each of its languages; with
    WAITBOARD_PUBLIC_URL set, it and its QR code lead citizens there, not to the address
    the caseworker's browser reached the server by."""
    named = office.model_copy(update={"name": "Jobcenter Düsseldorf", "name_en": "Job centre D"})
    async with (
        live_server(redis_server.url, named, public_url="https://jobcenter.example") as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as desk,
    ):
        await log_in(desk, "caseworker")
        start = await desk.get("/staff/applications", headers=HTML)
        key = re.search(r'name="key" value="([^"]+)"', start.text)
        assert key
        made = await desk.post(
            "/staff/applications",
            headers=HTML,
            data={"csrf": csrf_of(start.text), "key": key.group(1), "number": NUMBER},
        )
    assert made.status_code == 201
    assert "https://jobcenter.example/status" in made.text and srv.url not in made.text
    offices = re.findall(
        r'<div lang="(\w+)" dir="ltr">\s*<p class="slip-office">([^<]*)<', made.text
    )
    assert offices == [("de", "Jobcenter Düsseldorf"), ("en", "Job centre D")]


@pytest.mark.parametrize(
    ("slip_lang", "lang", "direction", "office_name", "heading"),
    [
        ("ar", "ar", "rtl", "مركز التوظيف", "الاستعلام عن حالة طلبك عبر الإنترنت"),
        ("uk", "uk", "ltr", "Джобцентр", "Дізнатися статус вашої заяви онлайн"),
        ("ls", "de", "ltr", "Job·center", "Wie weit ist Ihr Antrag? Im Internet nachsehen"),
    ],
)
async def test_the_pin_slip_speaks_german_and_the_language_the_caseworker_chose(
    redis_server: EmbeddedRedis,
    redis: Redis,
    office: Office,
    slip_lang: str,
    lang: str,
    direction: str,
    office_name: str,
    heading: str,
) -> None:
    """The citizen takes the slip home: German (the letter's language) and the language
    the caseworker picked for them, laid out in its own direction, the office named in
    it; its address opens the status lookup in that language."""
    named = office.model_copy(
        update={
            "name": "Jobcenter",
            "names": {"ar": "مركز التوظيف", "uk": "Джобцентр", "ls": "Job·center"},
        }
    )
    async with (
        live_server(redis_server.url, named) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as desk,
    ):
        await log_in(desk, "caseworker")
        start = await desk.get("/staff/applications", headers=HTML)
        key = re.search(r'name="key" value="([^"]+)"', start.text)
        assert key and f'<option value="{slip_lang}"' in start.text
        made = await desk.post(
            "/staff/applications",
            headers=HTML,
            data={
                "csrf": csrf_of(start.text),
                "key": key.group(1),
                "number": NUMBER,
                "slip_lang": slip_lang,
            },
        )
    assert made.status_code == 201
    slips = re.findall(
        r'<div lang="(\w+)" dir="(\w+)">\s*<p class="slip-office">([^<]*)</p>\s*<h3>([^<]*)<',
        made.text,
    )
    assert slips == [
        ("de", "ltr", "Jobcenter", "Stand Ihres Antrags online abfragen"),
        (lang, direction, office_name, heading),
    ]
    assert f"/status?lang={slip_lang}" in made.text


def language_link(html: str) -> str | None:
    """Where the language menu's link to English leads (None: the page has none)."""
    found = re.search(r'<a href="([^"]+)" hreflang="en"', html)
    return found.group(1) if found else None


async def test_the_language_link_after_a_form_keeps_what_matters(
    server: LiveServer, http: httpx.AsyncClient, application: dict[str, Any]
) -> None:
    """After a status lookup the link leads to the English form, not the start page; the
    page with a new PIN has none, since following it would lose the PIN."""
    r = await http.post("/status", data={"number": NUMBER, "pin": application["pin"]})
    assert r.status_code == 200 and language_link(r.text) == "/status?lang=en"
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as desk:
        await log_in(desk, "caseworker")
        page = await desk.get(f"/staff/applications/{NUMBER}", headers=HTML)
        assert language_link(page.text) == f"/staff/applications/{NUMBER}?lang=en"
        form = re.search(r'action="[^"]*/pin[^"]*"(.*?)</form>', page.text, re.S)
        assert form
        key = re.search(r'name="key" value="([^"]+)"', form.group(1))
        assert key
        made = await desk.post(
            f"/staff/applications/{NUMBER}/pin",
            headers=HTML,
            data={"csrf": csrf_of(page.text), "key": key.group(1)},
        )
        assert made.status_code == 200 and "data-pin" in made.text
        assert language_link(made.text) is None


async def test_staff_pages_need_a_caseworker_or_admin(server: LiveServer) -> None:
    """The applications' pages need a caseworker or admin session (login, else 403)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as desk:
        r = await desk.get("/staff/applications", headers=HTML)
        assert r.status_code == 303 and r.headers["location"].startswith("/staff/login")
        await log_in(desk, "reception-sued")
        assert (await desk.get("/staff/applications", headers=HTML)).status_code == 403
        desk.cookies.clear()
        await log_in(desk, "admin")
        assert (await desk.get("/staff/applications", headers=HTML)).status_code == 200
