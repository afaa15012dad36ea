"""What the service says, written to files: for comparing two versions of the code.

``python -m tests.outputs DIR`` runs waitboard on a real Redis (the embedded one) and a
real uvicorn, on a fixed clock, plays the same morning every time (tickets, calls, a
transfer, bookings, a check-in, an application), and writes every answer a person or a
device gets to ``DIR``: the OpenAPI document, the API's JSON, the first WebSocket messages,
and the HTML of every page, public, staff and terminal, in German and English, errors
included. What differs from run to run by design (ticket and call ids, epochs, CSRF tokens
and one-time form keys, PINs, QR codes) is replaced by a placeholder, so that

    python -m tests.outputs /tmp/before   # on the old code
    python -m tests.outputs /tmp/after    # on the new code
    diff -r /tmp/before /tmp/after

shows exactly what a change changed in what people see. Not a test: a tool for changes
that promise to change nothing (a restructuring, moving texts to other catalogs).
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import connect

from tests.helpers import (
    MONDAY_8,
    TIMEOUT,
    SettableClock,
    auth,
    live_server,
    office_with_appointments,
    token,
)
from waitboard.store.embedded import EmbeddedRedis

HTML = {"Accept": "text/html"}

#: What differs from run to run by design, and what it is written as instead.
VOLATILE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"<svg[^>]*class=\"qr\".*?</svg>", re.S), "<svg class=qr/>"),
    (re.compile(r"t_(sued|nord)_[A-Za-z0-9_-]{16,}"), r"t_\1_ID"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
    (re.compile(r"\bc_[A-Za-z0-9_-]{12}(?![A-Za-z0-9_-])"), "c_ID"),
    (re.compile(r"\be_[A-Za-z0-9_-]{8}(?![A-Za-z0-9_-])"), "e_EPOCH"),
    (re.compile(r'(name="(?:csrf|key)" value=")[^"]*'), r"\1X"),
    (re.compile(r'("(?:csrf|key)":\s*")[^"]*'), r"\1X"),
    (re.compile(r"\b\d{4} \d{4}\b"), "PIN"),
    (re.compile(r"\b\d{4}, \d \d \d \d\b|\d \d \d \d, \d \d \d \d"), "PIN"),
]


def normalise(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


class Recorder:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.names: set[str] = set()

    def write(self, name: str, answer: httpx.Response | str) -> None:
        assert name not in self.names, name
        self.names.add(name)
        if isinstance(answer, str):
            body = answer
        else:
            kind = answer.headers.get("content-type", "")
            body = f"{answer.status_code} {kind}\n"
            if "json" in kind:
                body += orjson.dumps(
                    answer.json(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
                ).decode()
            else:
                body += answer.text
        path = self.out / f"{name}.txt"
        path.write_text(normalise(body), encoding="utf-8")


async def staff(base: str, device: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=TIMEOUT)
    page = await client.get("/staff/login", headers=HTML)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    await client.post(
        "/staff/login",
        headers=HTML,
        data={"csrf": csrf.group(1), "token": token(device), "next": ""},
    )
    return client


async def first_messages(url: str, n: int) -> list[str]:
    async with connect(url, open_timeout=TIMEOUT) as ws:
        return [str(await asyncio.wait_for(ws.recv(), TIMEOUT)) for _ in range(n)]


async def play(base: str, ws_base: str, rec: Recorder, clock: SettableClock) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as http:
        rec.write("openapi", await http.get("/api/v1/openapi.json"))

        def post(path: str, device: str, body: Any = None, key: str | None = None) -> Any:
            headers = {**auth(device), **({"Idempotency-Key": key} if key else {})}
            return http.post(path, json=body, headers=headers)

        sued = "/api/v1/locations/sued"
        tickets = []
        for i, queue in enumerate(["A", "A", "B", "A", "B"]):
            r = await post(f"{sued}/tickets", "terminal-sued", {"queue": queue}, f"t{i}")
            tickets.append(r.json())
            rec.write(f"api-issue-{i}", r)
            clock.now += timedelta(minutes=2)
        rec.write(
            "api-issue-replay", await post(f"{sued}/tickets", "terminal-sued", {"queue": "A"}, "t0")
        )
        rec.write("api-issue-stop", await post(f"{sued}/tickets", "terminal-sued", {"queue": "Z"}))
        for counter in ("1", "2"):
            await post(f"{sued}/counters/{counter}/open", f"counter-sued-{counter}")
        called = await post(f"{sued}/counters/1/call-next", "counter-sued-1")
        rec.write("api-call-next", called)
        clock.now += timedelta(minutes=1)
        await post(f"/api/v1/tickets/{called.json()['id']}/start", "counter-sued-1")
        moved = await post(
            f"/api/v1/tickets/{called.json()['id']}/transfer", "counter-sued-1", {"queue": "B"}
        )
        rec.write("api-transfer", moved)
        rec.write(
            "api-wrong-transition",
            await post(f"/api/v1/tickets/{tickets[1]['id']}/start", "counter-sued-1"),
        )
        await post(f"{sued}/counters/2/call-next", "counter-sued-2")
        clock.now += timedelta(minutes=3)

        booked = []
        for minute, key in (("09:00", "b1"), ("09:20", "b2")):
            r = await http.post(
                f"{sued}/appointments",
                json={"queue": "T", "start": f"2026-11-30T{minute}:00+01:00"},
                headers={"Idempotency-Key": key},
            )
            rec.write(f"api-book-{key}", r)
            booked.append(r.json())
        rec.write("api-appointments", await http.get(f"{sued}/appointments"))
        clock.now = MONDAY_8 + timedelta(minutes=50)
        rec.write(
            "api-check-in",
            await post(f"{sued}/check-in", "terminal-sued", {"code": booked[0]["code"]}),
        )
        number = "AB-2026-0042"
        await post("/api/v1/applications", "caseworker", {"number": number}, "a1")
        await post(
            "/api/v1/applications/stage",
            "caseworker",
            {"number": number, "stage": "documents_missing", "missing": ["Mietvertrag"]},
        )

        await asyncio.sleep(0.5)  # the hub's view follows the last change
        rec.write("api-locations", await http.get("/api/v1/locations"))
        rec.write("api-location", await http.get(sued))
        rec.write("api-ticket", await http.get(f"/api/v1/tickets/{tickets[2]['id']}"))
        for name, path in (("ws-sued", "/ws/locations/sued"), ("ws-overview", "/ws/locations")):
            messages = await first_messages(ws_base + path, 1)
            rec.write(name, "\n".join(messages))

        public = {
            "overview": "/",
            "location": "/locations/sued",
            "screen": "/screens/sued",
            "screen-queues": "/screens/sued?queues=A",
            "ticket": f"/tickets/{tickets[2]['id']}",
            "ticket-called": f"/tickets/{called.json()['id']}",
            "concerns": "/locations/sued/appointments",
            "slots": "/locations/sued/appointments/T?date=2026-12-01",
            "booking": f"/appointments/{booked[1]['code']}",
            "booking-lookup": "/appointments",
            "status": "/status",
            "not-found": "/nowhere",
            "no-location": "/locations/atlantis",
            "no-ticket": "/tickets/t_sued_nonexistentnonexistent",
        }
        for name, path in public.items():
            for lang in ("de", "en"):
                query = ("&" if "?" in path else "?") + "lang=en" if lang == "en" else ""
                rec.write(f"page-{name}-{lang}", await http.get(path + query, headers=HTML))
        rec.write("page-ics", await http.get(f"/appointments/{booked[1]['code']}.ics"))
        rec.write(
            "page-status-answer",
            await http.post("/status", headers=HTML, data={"number": number, "pin": "00000000"}),
        )

    staff_pages = {
        "reception-sued": [
            "/staff/sued/reception",
            "/staff/sued/appointments",
            "/staff/sued/stats",
        ],
        "counter-sued-1": ["/staff/sued/counters/1"],
        "terminal-sued": ["/terminal/sued", "/terminal/sued/check-in"],
        "caseworker": ["/staff/applications", "/staff/applications/AB-2026-0042"],
        "admin": ["/staff"],
    }
    for device, paths in staff_pages.items():
        client = await staff(base, device)
        try:
            for path in paths:
                for lang in ("de", "en"):
                    query = "?lang=en" if lang == "en" else ""
                    name = f"staff-{device}{path.replace('/', '-')}-{lang}"
                    rec.write(name, await client.get(path + query, headers=HTML))
        finally:
            await client.aclose()


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    clock = SettableClock(MONDAY_8)
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp)) as redis_server:
        async with live_server(redis_server.url, office_with_appointments(), clock=clock) as srv:
            await play(srv.url, srv.ws_url, Recorder(out), clock)
    print(f"outputs written to {out} ({len(list(out.iterdir()))} files)")


def run(argv: list[str], entry: Callable[[Path], Any] = main) -> None:
    if len(argv) != 2:
        sys.exit("usage: python -m tests.outputs DIR")
    asyncio.run(entry(Path(argv[1])))


if __name__ == "__main__":
    run(sys.argv)
