"""Nothing personal or secret is stored: after a ticket's whole life and staff sessions,
Redis holds ticket numbers, times and device ids - no token, session secret, client
address or cookie."""

from __future__ import annotations

import base64
import re

import httpx
import orjson
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, LiveServer, auth, settings_for, token
from tests.test_staff import csrf_of, log_in
from waitboard.core.office import Office
from waitboard.pages.sessions import COOKIE

HTML = {"Accept": "text/html"}
#: Every field the scripts write on a ticket hash (issue, call, recall, start, transfer,
#: close, the estimate's note). Nothing about the person holding the ticket.
TICKET_FIELDS = {
    "id",
    "number",
    "queue",
    "status",
    "issued_at",
    "queued_at",
    "day",
    "recall",
    "transfers",
    "counter",
    "device",
    "called_at",
    "call_id",
    "call",
    "started_at",
    "recalled_at",
    "closed_at",
    "reason",
    "est",
}
#: What a completed ticket has after issue, call, start and complete.
LIFE_FIELDS = TICKET_FIELDS - {"recalled_at", "est"}
CALL_FIELDS = {"id", "ticket_id", "number", "queue", "counter", "called_at", "recall"}
#: Every key waitboard writes (all built in waitboard/store/keys/): the location's keys,
#: the marks of logged-out sessions, application status and the rate limits' buckets.
KEY_PATTERNS = [
    re.compile(p)
    for p in (
        r"wb:\{(sued|nord)\}:(meta|n|open|counters|calls|events|learn|calib|occ|audit)",
        r"wb:\{(sued|nord)\}:q:[AB]",
        r"wb:\{(sued|nord)\}:c:[12]",
        r"wb:\{sued\}:t:t_sued_[A-Za-z0-9_-]{22}",
        r"wb:\{(sued|nord)\}:idem:[0-9a-f]{64}",
        r"wb:\{sued\}:stats:\d{4}-\d\d-\d\d",
        r"wb:\{sued\}:waits:\d{4}-\d\d-\d\d:[AB]",
        r"wb:session:revoked:[0-9a-f]{64}",
        r"wb:\{staff\}:audit",
        r"wb:app:\{apps\}:(a|audit):PRIV-2026-[12]",
        r"wb:app:\{apps\}:(recent|deleting|audit)",
        r"wb:app:\{apps\}:idem:[0-9a-f]{64}",
        r"wb:rl:\{[0-9a-f]{64}\}:(public|websocket|failures|bookings|lookup)",
    )
]
#: An application's hash: its stage and the PIN's scrypt record - not who filed it; the
#: keys of its latest Idempotency-Key records (both had one); once decided, when it is
#: deleted.
APPLICATION_FIELDS = {"number", "stage", "missing", "pin", "created_at", "updated_at", "idem"}
DECIDED_FIELDS = APPLICATION_FIELDS | {"delete_at"}


async def everything(redis: Redis) -> dict[bytes, bytes]:
    """Each key with all it holds (members, fields, values, entries), as one blob."""
    out: dict[bytes, bytes] = {}
    async for key in redis.scan_iter(count=1000):
        kind = (await redis.type(key)).decode()
        parts: list[bytes] = []
        if kind == "string":
            parts = [await redis.get(key) or b""]
        elif kind == "hash":
            parts = [b for kv in (await redis.hgetall(key)).items() for b in kv]
        elif kind == "list":
            parts = await redis.lrange(key, 0, -1)
        elif kind == "set":
            parts = list(await redis.smembers(key))
        elif kind == "zset":
            parts = [m for m, _ in await redis.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            parts = [
                b for _, fields in await redis.xrange(key) for kv in fields.items() for b in kv
            ]
        else:
            raise AssertionError(f"{key!r} is a {kind}: not a type waitboard writes")
        out[key] = b"\n".join(parts)
    return out


def session_values(client: httpx.AsyncClient) -> list[str]:
    """The session cookie as sent, and the secrets inside it (id, CSRF token, fingerprint)."""
    cookie = client.cookies[COOKIE]
    payload = cookie.split(".")[0]
    session = orjson.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    return [
        cookie,
        payload,
        cookie.rsplit(".", 1)[-1],
        session["sid"],
        session["csrf"],
        session["fp"],
    ]


async def post_form(
    client: httpx.AsyncClient, path: str, page: str, fields: dict[str, str]
) -> httpx.Response:
    r = await client.post(path, headers=HTML, data={"csrf": csrf_of(page), **fields})
    assert r.status_code == 303, (path, r.status_code)
    return r


async def test_redis_holds_nothing_personal_or_secret(
    server: LiveServer, http: httpx.AsyncClient, redis: Redis, office: Office
) -> None:
    """Issue, call, start, complete (staff forms and the API), staff logins and a logout,
    applications created, changed and looked up: every key is one waitboard documents, a
    ticket or application hash has only the known fields, and no token, session id, CSRF
    token, cookie, secret key, client address, user agent or PIN appears anywhere in
    Redis, neither in a key nor in a value."""
    forbidden: list[str] = [
        settings_for("unused").secret_key,
        "127.0.0.1",
        "python-httpx",
        *(token(d.id) for d in office.devices),
    ]
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as reception,
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as counter,
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as caseworker,
    ):
        await log_in(reception, "reception-sued")
        page = (await reception.get("/staff/sued/reception", headers=HTML)).text
        issued = await post_form(
            reception, "/staff/sued/reception/tickets", page, {"queue": "A", "key": "issue-1"}
        )
        ticket_id = issued.headers["location"].split("/")[-2]
        r = await http.post(
            "/api/v1/locations/sued/tickets",
            json={"queue": "B"},
            headers={**auth("terminal-sued"), "Idempotency-Key": "press-1"},
        )
        assert r.status_code == 201

        await log_in(counter, "counter-sued-1")
        page = (await counter.get("/staff/sued/counters/1", headers=HTML)).text
        base = "/staff/sued/counters/1"
        await post_form(counter, f"{base}/open", page, {"key": "open-1"})
        await post_form(counter, f"{base}/call-next", page, {"key": "call-1"})
        await post_form(counter, f"{base}/tickets/{ticket_id}/start", page, {"key": "s-1"})
        await post_form(counter, f"{base}/tickets/{ticket_id}/complete", page, {"key": "c-1"})
        forbidden += session_values(counter)

        forbidden += session_values(reception)
        page = (await reception.get("/staff/sued/reception", headers=HTML)).text
        r = await reception.post("/staff/logout", headers=HTML, data={"csrf": csrf_of(page)})
        assert r.status_code == 303

        # Application status: one created on the caseworker's page (and decided), one by
        # the API, a stage set, a new PIN, and lookups with a wrong and the right PIN.
        await log_in(caseworker, "caseworker")
        page = (await caseworker.get("/staff/applications", headers=HTML)).text
        made = await caseworker.post(
            "/staff/applications",
            headers=HTML,
            data={"csrf": csrf_of(page), "number": "PRIV-2026-1", "key": "create-1"},
        )
        shown = re.search(r"data-pin>(\d{4}) (\d{4})<", made.text)
        assert made.status_code == 201 and shown
        forbidden += [shown.group(1) + shown.group(2), *session_values(caseworker)]
        created = (
            await http.post(
                "/api/v1/applications",
                json={"number": "PRIV-2026-2"},
                headers={**auth("caseworker"), "Idempotency-Key": "create-2"},
            )
        ).json()
        renewed = (
            await http.post(
                "/api/v1/applications/pin",
                json={"number": "PRIV-2026-2"},
                headers=auth("caseworker"),
            )
        ).json()
        r = await http.post(
            "/api/v1/applications/stage",
            headers=auth("caseworker"),
            json={
                "number": "PRIV-2026-2",
                "stage": "documents_missing",
                "missing": ["Mietvertrag"],
            },
        )
        assert r.status_code == 200
        r = await http.post(
            "/api/v1/applications/stage",
            headers={**auth("caseworker"), "Idempotency-Key": "decide-1"},
            json={"number": "PRIV-2026-1", "stage": "decided"},
        )
        assert r.status_code == 200 and r.json()["delete_at"]
        for pin in (created["pin"], renewed["pin"]):
            r = await http.post(
                "/api/v1/applications/lookup", json={"number": "PRIV-2026-2", "pin": pin}
            )
            assert r.status_code == (200 if pin == renewed["pin"] else 404)
        forbidden += [
            created["pin"],
            created["pin_display"],
            renewed["pin"],
            renewed["pin_display"],
        ]

    stored = await everything(redis)
    assert (await http.get(f"/api/v1/tickets/{ticket_id}")).json()["status"] == "done"
    unknown = [k for k in stored if not any(p.fullmatch(k.decode()) for p in KEY_PATTERNS)]
    assert unknown == []
    assert any(k.startswith(b"wb:session:revoked:") for k in stored)  # the logout is kept

    ticket = {
        k.decode(): v.decode()
        for k, v in (await redis.hgetall(f"wb:{{sued}}:t:{ticket_id}")).items()
    }
    assert LIFE_FIELDS <= set(ticket) <= TICKET_FIELDS
    assert set(orjson.loads(ticket["call"])) == CALL_FIELDS
    assert ticket["device"] == "reception-sued"  # which desk issued it, not who holds it
    async for key in redis.scan_iter(match="wb:{sued}:t:*"):
        assert set(k.decode() for k in await redis.hkeys(key)) <= TICKET_FIELDS
    async for key in redis.scan_iter(match="wb:app:{apps}:a:*"):
        fields = set(k.decode() for k in await redis.hkeys(key))
        assert fields == (DECIDED_FIELDS if key.endswith(b"PRIV-2026-1") else APPLICATION_FIELDS)

    found = {
        secret: [
            key
            for key, value in stored.items()
            if secret.encode() in key or secret.encode() in value
        ]
        for secret in forbidden
    }
    assert {secret: keys for secret, keys in found.items() if keys} == {}
