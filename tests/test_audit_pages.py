"""The admin's audit page and staff directory: names from the directory beside the
records, filters, CSV, and deleting a person who left (the records keep the pseudonym)."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from tests.helpers import TIMEOUT, LiveServer, auth
from tests.test_staff import HTML, csrf_of, log_in
from waitboard.context import AppContext
from waitboard.core.audit import STAFF, AuditFilter, ticket_ref
from waitboard.core.staff import SignedInPerson, Workplace
from waitboard.services import tickets as commands
from waitboard.store import keys

ALICE = SignedInPerson("p-alice", Workplace("counter", "sued", ("1",)), "pc-sued-1")
BOB = SignedInPerson("p-bob", Workplace("reception", "sued"), "pc-reception")


@pytest.fixture
async def admin(server: LiveServer) -> httpx.AsyncClient:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        await log_in(client, "admin")
        yield client


async def _busy(server: LiveServer) -> list[str]:
    """Alice opens counter 1 and calls; Bob issues two tickets and cancels one. The
    tickets' ids."""
    ctx: AppContext = server.app.state.ctx
    await ctx.store.remember_person("p-alice", "Alice Advisor", 1)
    await ctx.store.remember_person("p-bob", "Bob Desk", 1)
    loc = ctx.location("sued")
    await commands.counter_command(ctx, ALICE, loc, "1", "open", None)
    first = await commands.issue(ctx, BOB, loc, "A", None)
    second = await commands.issue(ctx, BOB, loc, "A", None)
    await commands.counter_command(ctx, ALICE, loc, "1", "call-next", None)
    assert first.ticket and second.ticket
    await commands.ticket_command(ctx, BOB, loc, second.ticket.id, "cancel", None, None)
    return [first.ticket.id, second.ticket.id]


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_audit_lists_actions_with_names_and_filters_them(
    server: LiveServer, admin: httpx.AsyncClient
) -> None:
    """Newest first with each person's name (the admin's own sign-in first of all);
    narrowed to a person and an action; the CSV holds the same filtered list with names."""
    await _busy(server)
    page = await admin.get("/staff/audit", headers=HTML)
    assert page.status_code == 200
    rows = page.text.split('data-audit="')[1:]
    assert [r.split('"')[0] for r in rows] == [
        *("cancel", "call", "issue", "issue", "counter_open", "sign_in")
    ]
    assert "Alice Advisor" in page.text and "Bob Desk" in page.text
    narrowed = await admin.get("/staff/audit?person=p-alice&action=call", headers=HTML)
    assert narrowed.text.count('data-audit="') == 1 and 'data-person="p-alice"' in narrowed.text
    exported = await admin.get("/staff/audit.csv?person=p-bob")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = _csv(exported.text)
    assert [(r["action"], r["person"], r["name"], r["device"]) for r in lines] == [
        ("cancel", "p-bob", "Bob Desk", "pc-reception"),
        ("issue", "p-bob", "Bob Desk", "pc-reception"),
        ("issue", "p-bob", "Bob Desk", "pc-reception"),
    ]
    assert lines[0]["before"] == "counter=, queue=A, status=waiting"


async def test_a_bad_filter_is_said_and_not_applied(
    server: LiveServer, admin: httpx.AsyncClient
) -> None:
    """A day that is no date is named on the page (the rest of the filter applies)."""
    await _busy(server)
    page = await admin.get("/staff/audit?from=gestern&action=issue", headers=HTML)
    assert page.status_code == 200 and 'id="filter-error"' in page.text
    assert page.text.count('data-audit="') == 2


async def test_only_an_admin_sees_the_audit(server: LiveServer) -> None:
    """A reception device is refused the audit, the CSV and the directory."""
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        await log_in(client, "reception-sued")
        for path in ("/staff/audit", "/staff/audit.csv", "/staff/people"):
            r = await client.get(path, headers=HTML)
            assert r.status_code == 403, path


async def test_deleting_a_person_leaves_the_records_under_the_pseudonym(
    server: LiveServer, admin: httpx.AsyncClient
) -> None:
    """After confirming, the name is gone from the directory, the page and the CSV; the
    records stay with the pseudonym, and the deletion itself is recorded."""
    await _busy(server)
    people = await admin.get("/staff/people", headers=HTML)
    assert "Alice Advisor" in people.text
    confirm = await admin.get("/staff/people/p-alice/delete", headers=HTML)
    assert confirm.status_code == 200 and "Alice Advisor" in confirm.text
    refused = await admin.post("/staff/people/p-alice/delete", headers=HTML, data={"csrf": "x"})
    assert refused.status_code == 403
    done = await admin.post(
        "/staff/people/p-alice/delete", headers=HTML, data={"csrf": csrf_of(confirm.text)}
    )
    assert done.status_code == 303
    ctx: AppContext = server.app.state.ctx
    assert await ctx.store.person_names(["p-alice"]) == {}
    page = await admin.get("/staff/audit?person=p-alice", headers=HTML)
    assert "Alice Advisor" not in page.text and "gelöscht" in page.text
    assert page.text.count('data-audit="') == 2
    lines = _csv((await admin.get("/staff/audit.csv")).text)
    assert [(r["person"], r["name"]) for r in lines if r["action"] == "call"] == [("p-alice", "")]
    [deletion] = [r for r in lines if r["action"] == "person_delete"]
    assert (deletion["subject"], deletion["device"]) == ("p-alice", "admin")
    assert "Alice" not in (await admin.get("/staff/audit.csv")).text


async def test_a_device_s_sign_in_and_out_are_recorded(server: LiveServer) -> None:
    """Logging a device in and out on the staff pages is recorded with its id."""
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        await log_in(client, "reception-sued")
        page = await client.get("/staff/sued/reception", headers=HTML)
        await client.post("/staff/logout", headers=HTML, data={"csrf": csrf_of(page.text)})
    ctx: AppContext = server.app.state.ctx
    records = (await ctx.store.audit_page(AuditFilter(location=STAFF))).records
    assert [(r.action, r.device) for r in records] == [
        ("sign_out", "reception-sued"),
        ("sign_in", "reception-sued"),
    ]


async def test_an_application_s_records_are_found_by_its_number(
    server: LiveServer, admin: httpx.AsyncClient
) -> None:
    """Typing an application's number finds its records (kept under a reference), and
    only its."""
    for number in ("AZ-1", "AZ-2"):
        r = await admin.post(
            "/api/v1/applications", json={"number": number}, headers=auth("caseworker")
        )
        assert r.status_code == 201
    page = await admin.get("/staff/audit?application=AZ-2", headers=HTML)
    assert page.text.count('data-audit="application_create"') == 1
    assert "AZ-2" not in page.text.split("<table")[-1]


async def test_no_record_page_or_csv_holds_a_ticket_s_id(
    server: LiveServer, admin: httpx.AsyncClient
) -> None:
    """A ticket's id is the address of its citizen's page: the stream keeps, and the page
    and the CSV name, the ticket by number and a digest that tells days apart, never by its
    id; the page narrows the list to one ticket by that digest."""
    ids = await _busy(server)
    ctx: AppContext = server.app.state.ctx
    stored = str(await ctx.store.redis.xrange(keys.audit("sued")))
    exported = (await admin.get("/staff/audit.csv")).text
    page = (await admin.get("/staff/audit", headers=HTML)).text
    assert not [i for i in ids if i in stored or i in exported or i in page]
    refs = [ticket_ref(i) for i in ids]
    assert {r["ticket"] for r in _csv(exported) if r["ticket"]} == set(refs)
    assert all(ref in page for ref in refs)
    one = (await admin.get(f"/staff/audit?ticket={refs[1]}", headers=HTML)).text
    assert one.count('data-audit="issue"') == 1 and one.count('data-audit="cancel"') == 1
    assert refs[0] not in one.split("<table")[-1]
    assert f"Nur die Einträge des Tickets mit der Kennung {refs[1]}." in one


async def test_a_malformed_page_address_is_a_clear_bad_request(
    admin: httpx.AsyncClient,
) -> None:
    """An 'Ältere Einträge' address with a broken cursor answers 400 with a page that says
    so and leads back to the newest records of the same filter."""
    page = await admin.get("/staff/audit?action=call&after=nonsense%3A%40", headers=HTML)
    assert page.status_code == 400
    assert "Seitenadresse ist beschädigt" in page.text
    assert 'href="/staff/audit?action=call"' in page.text


async def test_downloading_the_csv_is_itself_recorded(
    server: LiveServer, admin: httpx.AsyncClient
) -> None:
    """The admin's CSV download is recorded in the office's audit with who and the filter
    (not in the file itself), and the page names it."""
    await _busy(server)
    exported = await admin.get("/staff/audit.csv?action=call&location=sued")
    assert exported.status_code == 200
    assert "audit_export" not in exported.text
    ctx: AppContext = server.app.state.ctx
    records = (await ctx.store.audit_page(AuditFilter(action="audit_export"))).records
    assert [(r.location, r.device, r.subject) for r in records] == [
        (STAFF, "admin", "location=sued, action=call")
    ]
    page = await admin.get("/staff/audit?action=audit_export", headers=HTML)
    assert page.text.count('data-audit="audit_export"') == 1
    assert "Protokoll als CSV heruntergeladen" in page.text
    assert "location=sued, action=call" in page.text
