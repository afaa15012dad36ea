"""Bad input gets the contract's status and a problem+json that says what is wrong, and
changes nothing in Redis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.helpers import auth, dataset
from tests.openapi_check import check

TICKETS = "/api/v1/locations/{location}/tickets"


@dataclass
class Case:
    name: str
    method: str
    path: str  # may contain {called} / {waiting}: ids of prepared tickets
    template: str | None  # the OpenAPI path, or None for paths outside the API
    status: int
    says: str  # a phrase the detail must contain
    device: str | None = None
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "unknown location",
        "GET",
        "/api/v1/locations/west",
        "/api/v1/locations/{location}",
        404,
        "no location 'west'",
    ),
    Case(
        "unknown location (command)",
        "POST",
        "/api/v1/locations/west/tickets",
        TICKETS,
        404,
        "no location 'west'",
        device="admin",
        json={"queue": "A"},
    ),
    Case(
        "unknown ticket",
        "GET",
        "/api/v1/tickets/t_sued_AAAAAAAAAAAAAAAAAAAAAA",
        "/api/v1/tickets/{ticket_id}",
        404,
        "no ticket",
    ),
    Case(
        "not a ticket id",
        "GET",
        "/api/v1/tickets/12345",
        "/api/v1/tickets/{ticket_id}",
        404,
        "no ticket",
    ),
    Case(
        "unknown queue",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        422,
        "Queue 'Z' does not exist",
        device="terminal-sued",
        json={"queue": "Z"},
    ),
    Case(
        "unknown counter",
        "POST",
        "/api/v1/locations/sued/counters/9/call-next",
        "/api/v1/locations/{location}/counters/{counter}/call-next",
        404,
        "no counter '9'",
        device="admin",
    ),
    Case(
        "malformed JSON",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        422,
        "not valid JSON",
        device="terminal-sued",
        content=b'{"queue": "A"',
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "wrong type",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        422,
        "'queue': Input should be a valid string",
        device="terminal-sued",
        json={"queue": 1},
    ),
    Case(
        "missing field",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        422,
        "'queue': required",
        device="terminal-sued",
        json={},
    ),
    Case(
        "unknown field",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        422,
        "'name': unknown field",
        device="terminal-sued",
        json={"queue": "A", "name": "x"},
    ),
    Case(
        "not an object",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        422,
        "must be a JSON object",
        device="terminal-sued",
        json=["A"],
    ),
    Case(
        "not JSON at all",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        415,
        "Content-Type: application/json",
        device="terminal-sued",
        content=b"queue=A",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case(
        "body over 16 KiB",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        413,
        "at most 16384",
        device="terminal-sued",
        content=b'{"queue": "' + b"A" * 17000 + b'"}',
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "bad Idempotency-Key",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        422,
        "Idempotency-Key header must be",
        device="terminal-sued",
        json={"queue": "A"},
        headers={"Idempotency-Key": "x" * 300},
    ),
    Case(
        "missing token",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        401,
        "Authorization: Bearer",
        json={"queue": "A"},
    ),
    Case(
        "unknown token",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        401,
        "not known",
        json={"queue": "A"},
        headers={"Authorization": "Bearer guessed"},
    ),
    Case(
        "not a bearer token",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        401,
        "must read 'Bearer <token>'",
        json={"queue": "A"},
        headers={"Authorization": "Basic dXNlcjpwYXNz"},
    ),
    Case(
        "wrong role: display issues",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        403,
        "role display",
        device="display-sued",
        json={"queue": "A"},
    ),
    Case(
        "wrong role: terminal calls",
        "POST",
        "/api/v1/locations/sued/counters/1/call-next",
        "/api/v1/locations/{location}/counters/{counter}/call-next",
        403,
        "role terminal",
        device="terminal-sued",
    ),
    Case(
        "terminal of another location",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        403,
        "belongs to location nord",
        device="terminal-nord",
        json={"queue": "A"},
    ),
    Case(
        "counter token at another counter",
        "POST",
        "/api/v1/locations/sued/counters/2/call-next",
        "/api/v1/locations/{location}/counters/{counter}/call-next",
        403,
        "operates counter(s) 1, not 2",
        device="counter-sued-1",
    ),
    Case(
        "counter device completes another counter's ticket",
        "POST",
        "/api/v1/tickets/{called}/start",
        "/api/v1/tickets/{ticket_id}/start",
        403,
        "only a device of that counter",
        device="counter-sued-2",
    ),
    Case(
        "impossible transition",
        "POST",
        "/api/v1/tickets/{called}/complete",
        "/api/v1/tickets/{ticket_id}/complete",
        409,
        "is called; 'complete' is only possible when it is serving",
        device="counter-sued-1",
    ),
    Case(
        "recall a waiting ticket",
        "POST",
        "/api/v1/tickets/{waiting}/recall",
        "/api/v1/tickets/{ticket_id}/recall",
        409,
        "is waiting",
        device="admin",
    ),
    Case(
        "transfer to an unknown queue",
        "POST",
        "/api/v1/tickets/{waiting}/transfer",
        "/api/v1/tickets/{ticket_id}/transfer",
        422,
        "Queue 'Q' does not exist",
        device="reception-sued",
        json={"queue": "Q"},
    ),
    Case(
        "transfer without a target",
        "POST",
        "/api/v1/tickets/{waiting}/transfer",
        "/api/v1/tickets/{ticket_id}/transfer",
        422,
        "'queue': required",
        device="reception-sued",
    ),
    Case(
        "busy counter calls again",
        "POST",
        "/api/v1/locations/sued/counters/1/call-next",
        "/api/v1/locations/{location}/counters/{counter}/call-next",
        409,
        "still has ticket A001",
        device="counter-sued-1",
    ),
    Case(
        "closed counter calls",
        "POST",
        "/api/v1/locations/sued/counters/2/call-next",
        "/api/v1/locations/{location}/counters/{counter}/call-next",
        409,
        "Schalter 2 is closed",
        device="counter-sued-2",
    ),
    Case(
        "ticket stop",
        "POST",
        "/api/v1/locations/sued/tickets",
        TICKETS,
        409,
        "ticket stop (3 waiting, limit 3)",
        device="terminal-sued",
        json={"queue": "B"},
    ),
    Case(
        "ticket action with a body where none is taken",
        "POST",
        "/api/v1/tickets/{called}/recall",
        "/api/v1/tickets/{ticket_id}/recall",
        422,
        "unknown field",
        device="counter-sued-1",
        json={"force": True},
    ),
    Case("unknown API path", "GET", "/api/v1/nothing", None, 404, "nothing at this address"),
    Case("wrong method", "DELETE", "/api/v1/locations", None, 405, "does not accept"),
]


async def prepare(http: httpx.AsyncClient) -> dict[str, str]:
    """A001 called at counter 1, A002 waiting, queue B at its ticket stop."""
    ids = {}
    for queue in ("A", "A", "B", "B", "B"):
        r = await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": queue}, headers=auth("reception-sued")
        )
        assert r.status_code == 201
        ids.setdefault("first" if not ids else "waiting", r.json()["id"])
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    r = await http.post(
        "/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1")
    )
    assert r.status_code == 200
    return {"called": ids["first"], "waiting": ids["waiting"]}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_bad_input(http: httpx.AsyncClient, redis: Redis, case: Case) -> None:
    """Each bad request: documented status, problem+json with an actionable detail,
    Redis unchanged."""
    ids = await prepare(http)
    before = await dataset(redis)
    headers = {**(auth(case.device) if case.device else {}), **case.headers}
    r = await http.request(
        case.method, case.path.format(**ids), json=case.json, content=case.content, headers=headers
    )
    assert r.status_code == case.status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = check(r, case.method, case.template) if case.template else r.json()
    assert body["status"] == case.status and body["title"] and body["code"]
    assert case.says in body["detail"], body["detail"]
    assert "Traceback" not in r.text
    if case.status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert await dataset(redis) == before, "a refused request changed Redis"
