"""Many terminals at once: every ticket distinct, gapless, retrievable."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.helpers import TIMEOUT, Report, ServeProcess, auth, get_when

CLIENTS, PER_CLIENT = 8, 500


async def test_8_clients_issue_500_tickets_each(
    serve_processes, redis_server, redis, report: Report
) -> None:
    """4000 concurrent issues into one queue: 4000 distinct numbers, no gaps, all readable."""
    server: ServeProcess = serve_processes({"WAITBOARD_REDIS_URL": redis_server.url})
    limits = httpx.Limits(max_connections=1)

    async def terminal(n: int) -> list[dict]:
        async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT, limits=limits) as http:
            out = []
            for _ in range(PER_CLIENT):
                r = await http.post(
                    "/api/v1/locations/sued/tickets",
                    json={"queue": "A"},
                    headers=auth("reception-sued"),
                )
                assert r.status_code == 201, r.text
                out.append(r.json())
            return out

    started = time.perf_counter()
    batches = await asyncio.gather(*(terminal(n) for n in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    tickets = [t for batch in batches for t in batch]
    report(
        f"{CLIENTS} clients at once: {len(tickets)} tickets in {elapsed:.1f} s "
        f"({len(tickets) / elapsed:.0f}/s)"
    )
    numbers = sorted(int(t["number"][1:]) for t in tickets)
    assert numbers == list(range(1, CLIENTS * PER_CLIENT + 1))
    assert len({t["id"] for t in tickets}) == len(tickets)
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        for i in range(0, len(tickets), 100):
            chunk = tickets[i : i + 100]
            answers = await asyncio.gather(*(http.get(f"/api/v1/tickets/{t['id']}") for t in chunk))
            for t, r in zip(chunk, answers, strict=True):
                assert r.status_code == 200 and r.json()["number"] == t["number"]
        await get_when(
            http,
            "/api/v1/locations/sued",
            lambda r: r.json()["queues"][0]["waiting"] == CLIENTS * PER_CLIENT,
            "all tickets counted as waiting",
        )
