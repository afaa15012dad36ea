"""Daily statistics: the arithmetic, the endpoint, the CSV, the staff page."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import httpx
import pytest

from tests.helpers import TIMEOUT, LiveServer, auth, token
from tests.openapi_check import check
from waitboard.core import daystats
from waitboard.core.office import Office

STATS = "/api/v1/locations/{location}/stats"


def test_p90_is_the_wait_nine_in_ten_did_not_exceed() -> None:
    """Nearest rank: of ten waits, the ninth; of one, that one; of none, none."""
    assert daystats.p90(list(range(1, 11))) == 9
    assert daystats.p90([5.0]) == 5.0
    assert daystats.p90([]) is None


def test_a_day_in_figures(office: Office) -> None:
    """Counts, means, rates and totals from what the scripts keep."""
    loc = office.location_by_id["sued"]
    counts = {
        "issued:A": 4,
        "called:A": 3,
        "served:A": 2,
        "no_show:A": 1,
        "service_sum:A": 900.0,
        "issued:B": 1,
        "arrivals:08": 3,
        "arrivals:09": 2,
    }
    day = daystats.day(loc, "2026-11-25", counts, {"A": [60.0, 120.0, 300.0], "B": []})
    a = day["queues"][0]
    assert (a["issued"], a["called"], a["served"], a["no_show"]) == (4, 3, 2, 1)
    assert a["wait_mean_s"] == 160.0 and a["wait_p90_s"] == 300.0
    assert a["service_mean_s"] == 450.0 and a["no_show_rate"] == pytest.approx(0.333)
    assert day["totals"]["issued"] == 5 and day["totals"]["wait_mean_s"] == 160.0
    assert day["arrivals_per_hour"] == [
        {"hour": "08", "arrivals": 3},
        {"hour": "09", "arrivals": 2},
    ]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (None, True),
        ("2026-11-25", True),
        ("2026-02-30", False),
        ("25.11.2026", False),
        ("20261125", False),
        ("x" * 100, False),
    ],
)
def test_dates_are_checked(value: str | None, ok: bool) -> None:
    """Only real days written YYYY-MM-DD; nothing means today."""
    if ok:
        assert daystats.parse_day(value, date(2026, 11, 25)) == "2026-11-25"
    else:
        with pytest.raises(ValueError, match="day"):
            daystats.parse_day(value, date(2026, 11, 25))


async def busy_morning(http: httpx.AsyncClient) -> None:
    for queue in "AAB":
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": queue}, headers=auth("reception-sued")
        )
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    called = (
        await http.post(
            "/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1")
        )
    ).json()
    await http.post(f"/api/v1/tickets/{called['id']}/start", headers=auth("counter-sued-1"))
    await http.post(f"/api/v1/tickets/{called['id']}/complete", headers=auth("counter-sued-1"))


async def test_the_endpoint_counts_today(http: httpx.AsyncClient) -> None:
    """Today's tickets, calls and services, in the documented shape."""
    await busy_morning(http)
    r = await http.get("/api/v1/locations/sued/stats", headers=auth("reception-sued"))
    stats = check(r, "GET", STATS)
    a, b = stats["queues"]
    assert (a["issued"], a["called"], a["served"], b["issued"]) == (2, 1, 1, 1)
    assert stats["totals"]["issued"] == 3
    assert sum(h["arrivals"] for h in stats["arrivals_per_hour"]) == 3


@pytest.mark.parametrize(
    ("device", "query", "status"),
    [
        ("terminal-sued", "", 403),
        ("counter-sued-1", "", 403),
        (None, "", 401),
        ("reception-sued", "?date=2026-13-01", 422),
        ("reception-sued", "?format=xml", 422),
        ("admin", "?date=2020-01-01", 200),
    ],
)
async def test_who_may_ask_and_what(
    http: httpx.AsyncClient, device: str | None, query: str, status: int
) -> None:
    """Reception and admin only; a bad day or format is a 422 that says so."""
    r = await http.get(
        f"/api/v1/locations/sued/stats{query}", headers=auth(device) if device else {}
    )
    assert r.status_code == status
    check(r, "GET", STATS)


async def test_csv_export(http: httpx.AsyncClient) -> None:
    """format=csv: a file a spreadsheet opens, one row per queue and one for all."""
    await busy_morning(http)
    r = await http.get("/api/v1/locations/sued/stats?format=csv", headers=auth("reception-sued"))
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text), delimiter=";"))
    assert rows[0][:3] == ["date", "queue", "issued"]
    assert [row[1] for row in rows[1:4]] == ["A", "B", "*"]
    assert rows[1][2] == "2"


async def test_staff_page_shows_the_day_with_a_chart(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The reception's statistics page: the figures, a chart with a text alternative."""
    await busy_morning(http)
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as desk:
        page = await desk.get("/staff/login", headers={"Accept": "text/html"})
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        await desk.post(
            "/staff/login",
            data={"csrf": csrf.group(1), "next": "", "token": token("reception-sued")},
        )
        stats = await desk.get("/staff/sued/stats", headers={"Accept": "text/html"})
        assert stats.status_code == 200
        assert "<svg viewBox" in stats.text and 'role="img"' in stats.text
        assert "Ankünfte je Stunde" in stats.text and "Eingangszone" in stats.text
        download = await desk.get("/staff/sued/stats.csv")
        assert download.headers["content-type"].startswith("text/csv")
        # German figures with a decimal comma ("0,0 %", "1,5 Min."), English with a point.
        assert re.search(r"\(\d+,\d %\)", stats.text) and not re.search(r"\d\.\d %", stats.text)
        english = await desk.get("/staff/sued/stats?lang=en", headers={"Accept": "text/html"})
        assert re.search(r"\(\d+\.\d %\)", english.text)
        bad = await desk.get("/staff/sued/stats?date=gestern", headers={"Accept": "text/html"})
        assert bad.status_code == 200
        assert "„gestern“ ist kein gültiges Datum (JJJJ-MM-TT); angezeigt wird heute." in bad.text
        assert 'aria-invalid="true"' in bad.text
