"""HTTP API v1 through a real uvicorn: the commands, the reads, their documented shapes."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.helpers import LiveServer, auth, get_when, waiting
from tests.openapi_check import check
from waitboard.web.openapi import document

TICKETS = "/api/v1/locations/{location}/tickets"
CALL_NEXT = "/api/v1/locations/{location}/counters/{counter}/call-next"
OPEN = "/api/v1/locations/{location}/counters/{counter}/open"


async def issue(
    http: httpx.AsyncClient, queue: str = "A", device: str = "terminal-sued", **headers: str
) -> httpx.Response:
    return await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": queue}, headers={**auth(device), **headers}
    )


async def test_issue_call_serve_complete(http: httpx.AsyncClient) -> None:
    """A ticket's whole life through the API, every answer as documented."""
    r = await issue(http)
    assert r.status_code == 201
    ticket = check(r, "POST", TICKETS)
    assert ticket["number"] == "A001" and ticket["status"] == "waiting"
    assert ticket["position"] == 1 and r.headers["location"] == ticket["url"]

    r = await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    counter = check(r, "POST", OPEN)
    assert counter["open"] is True and counter["ticket"] is None

    r = await http.post(
        "/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1")
    )
    called = check(r, "POST", CALL_NEXT)
    assert called["id"] == ticket["id"] and called["status"] == "called"
    assert called["counter"] == "1" and called["counter_name"] == "Schalter 1"
    assert called["position"] is None and called["estimated_wait_s"] is None

    for action, status in (("recall", "called"), ("start", "serving"), ("complete", "done")):
        r = await http.post(
            f"/api/v1/tickets/{ticket['id']}/{action}", headers=auth("counter-sued-1")
        )
        body = check(r, "POST", f"/api/v1/tickets/{{ticket_id}}/{action}")
        assert body["status"] == status, action

    r = await http.get(f"/api/v1/tickets/{ticket['id']}")
    assert check(r, "GET", "/api/v1/tickets/{ticket_id}")["status"] == "done"


async def test_call_next_with_nobody_waiting_is_204(http: httpx.AsyncClient) -> None:
    """An empty queue answers 204 without a body."""
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    r = await http.post(
        "/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1")
    )
    assert r.status_code == 204
    check(r, "POST", CALL_NEXT)


async def test_reception_cancels_and_transfers(http: httpx.AsyncClient) -> None:
    """Reception moves a ticket to another queue (same number) and cancels another."""
    a = (await issue(http)).json()
    b = (await issue(http)).json()
    r = await http.post(
        f"/api/v1/tickets/{a['id']}/transfer", json={"queue": "B"}, headers=auth("reception-sued")
    )
    moved = check(r, "POST", "/api/v1/tickets/{ticket_id}/transfer")
    assert moved["queue"] == "B" and moved["number"] == "A001" and moved["position"] == 1
    r = await http.post(f"/api/v1/tickets/{b['id']}/cancel", headers=auth("reception-sued"))
    assert check(r, "POST", "/api/v1/tickets/{ticket_id}/cancel")["status"] == "cancelled"


async def test_location_snapshot_and_overview(http: httpx.AsyncClient) -> None:
    """The snapshot counts waiting tickets and names counters; the overview lists all."""
    await issue(http)
    await issue(http, "B")
    r = await get_when(
        http,
        "/api/v1/locations/sued",
        lambda r: waiting(r.json()) == {"A": 1, "B": 1},
        "A and B waiting",
    )
    snap = check(r, "GET", "/api/v1/locations/{location}")
    assert snap["location"]["name"] == "Jobcenter Süd" and snap["open"] is True
    overview = check(await http.get("/api/v1/locations"), "GET", "/api/v1/locations")
    assert [loc["id"] for loc in overview["locations"]] == ["sued", "nord"]


async def test_idempotent_retry_over_http(http: httpx.AsyncClient) -> None:
    """Same Idempotency-Key: the same ticket again, marked as replayed; nothing new."""
    key = str(uuid.uuid4())
    first = await issue(http, **{"Idempotency-Key": key})
    again = await issue(http, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    record = await http.get(f"/api/v1/tickets/{first.json()['id']}")
    assert record.json()["position"] == 1  # nobody else in the queue
    other = await issue(http, "B", **{"Idempotency-Key": key})
    assert other.status_code == 422
    assert "already used for a different request" in check(other, "POST", TICKETS)["detail"]


async def test_idempotency_keys_are_per_device(http: httpx.AsyncClient) -> None:
    """Two devices using the same key each get their own ticket."""
    a = await issue(http, device="terminal-sued", **{"Idempotency-Key": "same"})
    b = await issue(http, device="reception-sued", **{"Idempotency-Key": "same"})
    assert a.json()["id"] != b.json()["id"]


async def test_admin_may_operate_any_location(http: httpx.AsyncClient) -> None:
    """The admin role works everywhere; location-bound roles only at home."""
    r = await http.post(
        "/api/v1/locations/nord/tickets", json={"queue": "A"}, headers=auth("admin")
    )
    assert r.status_code == 201
    r = await http.post("/api/v1/locations/nord/counters/1/open", headers=auth("admin"))
    assert r.status_code == 200


async def test_health_and_metrics(http: httpx.AsyncClient) -> None:
    """/livez and /readyz answer 200 with Redis up; /metrics counts issued tickets."""
    assert (await http.get("/livez")).status_code == 200
    assert (await http.get("/readyz")).status_code == 200
    await issue(http)
    text = (await http.get("/metrics")).text
    assert 'waitboard_tickets_issued_total{location="sued",queue="A"} 1.0' in text
    for name in (
        "waitboard_calls_total",
        "waitboard_ws_clients",
        "waitboard_hub_reloads_total",
        "waitboard_publish_to_send_seconds",
    ):
        assert name in text


async def test_openapi_document_lists_every_api_route(
    http: httpx.AsyncClient, server: LiveServer
) -> None:
    """Every /api/v1 route of the app is in the document, and nothing else is."""
    served = await http.get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.json() == document()
    routes = {
        (m, r.path)
        for r in server.app.routes
        if r.path.startswith("/api/v1/") and r.path != "/api/v1/openapi.json"
        for m in (r.methods or set()) - {"HEAD"}
    }
    documented = {(m.upper(), p) for p, ops in document()["paths"].items() for m in ops}
    assert routes == documented


@pytest.mark.parametrize("path", ["/", "/api/v1/locations/sued", "/api/v1/nope"])
async def test_security_headers_on_every_answer(http: httpx.AsyncClient, path: str) -> None:
    """Pages and API answers carry CSP, nosniff, no-referrer and frame denial."""
    r = await http.get(path)
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
