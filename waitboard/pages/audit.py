"""The admin's audit: every recorded staff action, newest first, narrowed by location,
person, action and days, with each person's name from the staff directory (a person
deleted from it stays a pseudonym), paged, and the same list as CSV.

The records name people by pseudonymous ids only (core/audit.py); the names are looked up
here, for the page and the file, and are never written back into a record.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from waitboard.context import AppContext, context
from waitboard.core.audit import (
    ACTIONS,
    APPLICATIONS,
    STAFF,
    TICKET_REF,
    AuditFilter,
    AuditRecord,
    application_ref,
    to_csv,
)
from waitboard.core.clock import from_ms
from waitboard.i18n import Translator
from waitboard.pages import sessions
from waitboard.pages.errors import error_page
from waitboard.pages.render import language, render
from waitboard.store.audit import valid_cursor

HOME = "/staff/audit"
ADMIN = ("admin",)
PAGE_SIZE = 50
#: Rows of one CSV file at most (a narrower filter gives the rest).
CSV_MAX = 20_000
#: What a filter's text may be at most (a pseudonym, a cursor).
FIELD_MAX = 200


def action_labels(t: Translator) -> dict[str, str]:
    """The actions as the page names them."""
    return {
        "issue": t("Ticket gezogen"),
        "check_in": t("Mit Termin angemeldet"),
        "call": t("Aufgerufen"),
        "recall": t("Erneut aufgerufen"),
        "start": t("Bedienung begonnen"),
        "complete": t("Erledigt"),
        "no_show": t("Nicht erschienen"),
        "transfer": t("Weitergeleitet"),
        "cancel": t("Storniert"),
        "counter_open": t("Schalter geöffnet"),
        "counter_close": t("Schalter geschlossen"),
        "counter_pause": t("Schalter pausiert"),
        "counter_resume": t("Pause beendet"),
        "booking_cancel": t("Termin abgesagt"),
        "booking_move": t("Termin verschoben"),
        "application_create": t("Antrag angelegt"),
        "application_stage": t("Antragsstand geändert"),
        "application_pin": t("Neue PIN erstellt"),
        "application_delete": t("Antrag gelöscht"),
        "person_delete": t("Aus dem Personalverzeichnis gelöscht"),
        "sign_in": t("Angemeldet"),
        "sign_out": t("Abgemeldet"),
        "audit_export": t("Protokoll als CSV heruntergeladen"),
    }


def _filter(ctx: AppContext, request: Request) -> tuple[AuditFilter, list[str]]:
    """The filter the query asks for, and the names of the fields that made no sense
    (they are left out of the filter, and the page says so)."""
    q = request.query_params
    bad: list[str] = []
    location = q.get("location") or None
    known = {*ctx.office.location_by_id, APPLICATIONS, STAFF}
    if location is not None and location not in known:
        bad.append("location")
        location = None
    action = q.get("action") or None
    if action is not None and action not in ACTIONS:
        bad.append("action")
        action = None
    person = (q.get("person") or "").strip()[:FIELD_MAX] or None
    days: list[date | None] = []
    for field in ("from", "to"):
        try:
            days.append(date.fromisoformat(q[field]) if q.get(field) else None)
        except ValueError:
            bad.append(field)
            days.append(None)
    # An application by its number, as the records name it: by its keyed reference.
    number = (q.get("application") or "").strip()[:FIELD_MAX]
    ref = application_ref(ctx.settings.secret_key, number) if number else None
    # A ticket by its reference (the digest the records and the CSV name it by).
    ticket = (q.get("ticket") or "").strip().lower() or None
    if ticket is not None and not TICKET_REF.match(ticket):
        bad.append("ticket")
        ticket = None
    return AuditFilter(location, person, action, days[0], days[1], ref, ticket), bad


async def _names(ctx: AppContext, records: list[AuditRecord]) -> dict[str, str]:
    return await ctx.store.person_names(sorted({r.person for r in records if r.person}))


async def audit_page(request: Request) -> Response:
    ctx = context(request)
    device = await sessions.require_staff(request, ADMIN)
    t = Translator(language(request))
    flt, bad = _filter(ctx, request)
    query = {k: v for k, v in request.query_params.items() if k != "after" and v}
    asked = urlencode(query)
    after = request.query_params.get("after") or None
    if not valid_cursor(after):
        return error_page(
            request,
            400,
            t(
                "Diese Seitenadresse ist beschädigt. "
                "Beginnen Sie bitte wieder bei den neuesten Einträgen."
            ),
            again=HOME + (f"?{asked}" if asked else ""),
        )
    page = await ctx.store.audit_page(flt, PAGE_SIZE, after)
    names = await _names(ctx, page.records)
    labels = action_labels(t)
    locations = {loc.id: t.name(loc) for loc in ctx.office.locations}
    locations[APPLICATIONS] = t("Anträge")
    locations[STAFF] = t("Anmeldungen und Verzeichnis")
    rows = [_row(ctx, t, r, names, labels, locations) for r in page.records]
    members = await ctx.store.staff_members()
    return render(
        request,
        "staff/audit.html",
        staff=True,
        device=device,
        location=None,
        rows=rows,
        flt=flt,
        application=(request.query_params.get("application") or "")[:FIELD_MAX],
        bad=bad,
        labels=labels,
        locations=locations,
        members=members,
        page=page,
        csv_url=HOME + ".csv" + (f"?{asked}" if asked else ""),
        newest_url=None if after is None else HOME + (f"?{asked}" if asked else ""),
        older_url=HOME + "?" + urlencode({**query, "after": page.next}) if page.next else None,
    )


def _row(
    ctx: AppContext,
    t: Translator,
    r: AuditRecord,
    names: dict[str, str],
    labels: dict[str, str],
    locations: dict[str, str],
) -> dict[str, Any]:
    when = from_ms(r.at_ms, ctx.office.tz)
    return {
        "record": r,
        "when": f"{t.day(when.date())}, {when:%H:%M:%S}",
        "iso": when.isoformat(timespec="seconds"),
        "action": labels.get(r.action, r.action),
        "where": locations.get(r.location, r.location),
        "name": names.get(r.person) if r.person else None,
        "deleted": bool(r.person) and r.person not in names,
        "what": _what(t, r),
        "ticket_url": HOME + "?" + urlencode({"ticket": r.ticket}) if r.ticket else None,
    }


def _what(t: Translator, r: AuditRecord) -> list[str]:
    """The target, in words: a ticket's number and queue, a counter, an application."""
    out = []
    if r.number and r.ticket:
        out.append(t("Ticket {number} (Kennung {ref})", number=r.number, ref=r.ticket))
    elif r.number:
        out.append(t("Ticket {number}", number=r.number))
    if r.counter:
        out.append(t("Schalter {counter}", counter=r.counter))
    if r.application:
        out.append(t("Antrag (Kennung {ref})", ref=r.application))
    if r.action == "audit_export":
        out.append(t("Filter: {filter}", filter=r.subject or t("alle Einträge")))
    elif r.subject:
        out.append(t("Person {pseudonym}", pseudonym=r.subject))
    return out


async def audit_csv(request: Request) -> Response:
    """The filtered list as CSV (the newest first, at most :data:`CSV_MAX` rows), with
    the names of people still in the directory. The download is itself recorded (who, when,
    which filter) in the office's audit before the file is sent (not in the file
    itself)."""
    ctx = context(request)
    actor = await sessions.require_staff(request, ADMIN)
    flt, _ = _filter(ctx, request)
    records: list[AuditRecord] = []
    after = None
    while len(records) < CSV_MAX:
        page = await ctx.store.audit_page(flt, min(1000, CSV_MAX - len(records)), after)
        records += page.records
        if not page.more or page.next is None:
            break
        after = page.next
    names = await _names(ctx, records)
    today = ctx.clock().astimezone(ctx.office.tz).date().isoformat()
    exported = to_csv(records, names, ctx.office.tz)
    await ctx.store.record_staff_action("audit_export", actor, describe_filter(flt))
    return Response(
        exported,
        media_type="text/csv; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="waitboard-audit-{today}.csv"',
        },
    )


def describe_filter(flt: AuditFilter) -> str:
    """What an export was narrowed to, as its record keeps it (``location=sued,
    action=call``; "" for everything): an application by its reference, never its number."""
    parts = {
        "location": flt.location,
        "person": flt.person,
        "action": flt.action,
        "from": flt.day_from.isoformat() if flt.day_from else None,
        "to": flt.day_to.isoformat() if flt.day_to else None,
        "application": flt.application,
        "ticket": flt.ticket,
    }
    return ", ".join(f"{k}={v}" for k, v in parts.items() if v)


def routes() -> list[Route]:
    return [
        Route(HOME, audit_page, methods=["GET"]),
        Route(HOME + ".csv", audit_csv, methods=["GET"]),
    ]
