"""Security headers (waitboard/web.py) on every kind of answer: public pages, staff and
kiosk pages behind a login, the printed ticket, API answers, problems and error pages."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, LiveServer, auth
from tests.test_staff import log_in
from waitboard.middleware import SECURITY_HEADERS
from waitboard.store import keys

HTML = {"Accept": "text/html"}
#: What web.py promises, spelled out here so a weakened policy fails the test.
EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
CSP_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
)


def header_faults(r: httpx.Response) -> list[str]:
    """What is wrong with one answer's security headers (nothing: an empty list)."""
    faults = []
    for name, value in EXPECTED.items():
        if r.headers.get_list(name) != [value]:
            faults.append(f"{name}: {r.headers.get_list(name)}")
    csp = r.headers.get_list("content-security-policy")
    if len(csp) != 1:
        faults.append(f"content-security-policy sent {len(csp)} times")
    else:
        directives = [d.strip() for d in csp[0].split(";")]
        faults += [f"CSP lacks {d}" for d in CSP_DIRECTIVES if d not in directives]
        faults += [
            f"CSP allows {bad}"
            for bad in ("'unsafe-inline'", "'unsafe-eval'", "*")
            if any(bad in d.split() for d in directives)
        ]
    for name, _ in SECURITY_HEADERS:  # and whatever else web.py sets, exactly once
        if len(r.headers.get_list(name.decode())) != 1:
            faults.append(f"{name.decode()} sent {len(r.headers.get_list(name.decode()))} times")
    return faults


async def test_every_answer_carries_the_security_headers(
    server: LiveServer, http: httpx.AsyncClient, redis: Redis
) -> None:
    """Public, staff, kiosk and printed pages (application status, too), API answers,
    redirects, problems and error pages (403, 404, 405, 500) all carry CSP with
    frame-ancestors, nosniff, no-referrer, frame denial and the rest of web.py's headers,
    each exactly once."""
    ticket = (
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
        )
    ).json()
    answers: dict[str, httpx.Response] = {}
    for path in (
        "/",
        "/locations/sued",
        "/screens/sued",
        ticket["url"],
        "/staff/login",
        "/static/style.css",
        "/livez",
        "/readyz",
        "/metrics",
    ):
        answers[path] = await http.get(path, headers=HTML)
    for path in (
        "/api/v1/locations",
        "/api/v1/locations/sued",
        f"/api/v1/tickets/{ticket['id']}",
        "/api/v1/openapi.json",
        "/api/v1/locations/sued/stats",
    ):
        answers[f"API {path}"] = await http.get(path, headers=auth("admin"))
    answers["problem 404"] = await http.get("/api/v1/locations/west")
    answers["problem 401"] = await http.post("/api/v1/locations/sued/tickets", json={"queue": "A"})
    answers["problem 422"] = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "Z"}, headers=auth("admin")
    )
    answers["page 404"] = await http.get("/locations/west", headers=HTML)
    answers["page 405"] = await http.get("/staff/logout", headers=HTML)
    answers["login redirect"] = await http.get("/staff/sued/reception", headers=HTML)

    # Application status: the citizen's page and its answer, the API, caseworkers' pages.
    created = await http.post(
        "/api/v1/applications", json={"number": "HDR-2026-1"}, headers=auth("caseworker")
    )
    not_the_pin = "11111111" if created.json()["pin"] != "11111111" else "22222222"
    answers["API POST /api/v1/applications"] = created
    answers["/status"] = await http.get("/status", headers=HTML)
    answers["status page 404"] = await http.post(
        "/status", headers=HTML, data={"number": "HDR-2026-1", "pin": not_the_pin}
    )
    answers["status page 200"] = await http.post(
        "/status", headers=HTML, data={"number": "HDR-2026-1", "pin": created.json()["pin"]}
    )
    answers["problem lookup 404"] = await http.post(
        "/api/v1/applications/lookup", json={"number": "HDR-2026-1", "pin": not_the_pin}
    )
    answers["API /api/v1/applications/audit"] = await http.get(
        "/api/v1/applications/audit?number=HDR-2026-1", headers=auth("caseworker")
    )

    logins = {
        "reception-sued": [
            "/staff/sued/reception",
            "/staff/sued/reception/live",
            f"/staff/sued/tickets/{ticket['id']}/print",
            "/staff/sued/stats",
            "/staff/sued/stats.csv",
            "/staff/sued/counters/1",
        ],  # the last: 403, a page
        "counter-sued-1": ["/staff/sued/counters/1", "/staff/sued/counters/1/live"],
        "terminal-sued": ["/terminal/sued", f"/terminal/sued/tickets/{ticket['id']}"],
        "admin": ["/staff"],
        "caseworker": ["/staff/applications", "/staff/applications/HDR-2026-1"],
    }
    for device, paths in logins.items():
        async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as desk:
            answers[f"{device} login"] = await log_in(desk, device)
            for path in paths:
                answers[f"{device} {path}"] = await desk.get(path, headers=HTML)

    broken = (
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
        )
    ).json()
    await redis.hset(keys.ticket("sued", broken["id"]), "status", "exploded")
    answers["problem 500"] = await http.get(f"/api/v1/tickets/{broken['id']}")
    answers["page 500"] = await http.get(broken["url"], headers=HTML)

    statuses = {label: r.status_code for label, r in answers.items()}
    unusual = {
        "problem 404": 404,
        "problem 401": 401,
        "problem 422": 422,
        "page 404": 404,
        "page 405": 405,
        "login redirect": 303,
        "problem 500": 500,
        "page 500": 500,
        "reception-sued /staff/sued/counters/1": 403,
        "API POST /api/v1/applications": 201,
        "status page 404": 404,
        "problem lookup 404": 404,
        **{f"{device} login": 303 for device in logins},
    }
    assert statuses == {label: unusual.get(label, 200) for label in answers}
    assert answers["problem 404"].headers["content-type"] == "application/problem+json"
    faults = {label: f for label, r in answers.items() if (f := header_faults(r))}
    assert faults == {}


async def test_a_rate_limited_answer_carries_them_too(http: httpx.AsyncClient) -> None:
    """A 429 from the rate limit (after repeated unknown tokens) has the headers as well."""
    r = None
    for _ in range(50):  # the failure limit lets ten through per minute
        r = await http.post(
            "/api/v1/locations/sued/tickets",
            json={"queue": "A"},
            headers={"Authorization": "Bearer guessed"},
        )
        if r.status_code == 429:
            break
    assert r is not None and r.status_code == 429
    assert header_faults(r) == []
