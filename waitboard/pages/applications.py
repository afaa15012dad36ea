"""Application status, the caseworkers' pages (and the routes of the citizen's ``/status``,
:mod:`waitboard.pages.application_status`).

Caseworkers (and admins), in a staff session: ``/staff/applications`` (search, create,
recent changes) and one page per application (stage, missing documents, new PIN,
history, deletion). The PIN is shown once, on the page that made it; Redis keeps only its
scrypt record. Logs never carry numbers, PINs or addresses.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from waitboard.context import AppContext, context
from waitboard.core.application_fields import InvalidChange, check_number
from waitboard.core.application_pins import group_pin
from waitboard.core.applications import (
    CASEWORKER_ROLES,
    Application,
    ApplicationExists,
    AuditAction,
    AuditEntry,
    FiledAnew,
    Stage,
    decision_deletes_at,
    stage_text,
)
from waitboard.core.clock import from_ms, to_ms
from waitboard.core.errors import WaitboardError
from waitboard.core.languages import AUTONYMS, CITIZEN_LANGUAGES
from waitboard.core.languages import DEFAULT as DEFAULT_LANGUAGE
from waitboard.core.staff import Actor
from waitboard.http_status import status_of
from waitboard.i18n import Translator
from waitboard.pages import application_status, forms, qr, sessions
from waitboard.pages.application_status import date_text
from waitboard.pages.render import language, link_for, public_base, render, see_other, with_lang
from waitboard.store.idempotency import Idempotency
from waitboard.store.keys import application_idempotency

#: How many recently changed applications the caseworkers' start page lists.
RECENT_SHOWN = 30
HOME = "/staff/applications"
# The second language of the PIN slip, named in itself (German is always on it).
SLIP_LANGUAGES = [(code, AUTONYMS[code]) for code in CITIZEN_LANGUAGES if code != DEFAULT_LANGUAGE]


def _redirect(path: str, request: Request) -> Response:
    return see_other(link_for(request, path))


def _form_idempotency(device: Actor, path: str, form: dict[str, str]) -> Idempotency | None:
    """The form's one-time ``key`` as Idempotency-Key (as staff forms have it), scoped to the
    applications instead of a location: a double click acts once."""
    found = forms.form_request(path, form)
    if found is None:
        return None
    key, fingerprint = found
    return Idempotency(application_idempotency(device.id, "form:" + key), fingerprint)


def _detail_path(number: str) -> str:
    return f"{HOME}/{number}"


async def list_page(request: Request) -> Response:
    """Search by number, create, and the applications changed last."""
    ctx = context(request)
    device = await sessions.require_staff(request, CASEWORKER_ROLES)
    t = Translator(language(request))
    store = ctx.applications
    query = request.query_params.get("number", "")[:100]
    searched, search_error, number = bool(query.strip()), "", ""
    if searched:
        try:
            number = check_number(query)
        except WaitboardError:
            search_error = t(
                "Eine Antragsnummer hat 4 bis 20 Zeichen: Buchstaben A–Z, Ziffern und Bindestriche."
            )
        else:
            if await store.application(number) is not None:
                return _redirect(_detail_path(number), request)
            search_error = t(
                "Es gibt keinen Antrag {number}. Prüfen Sie die Nummer oder legen Sie den Antrag "
                "an.",
                number=number,
            )
    recent = [
        {
            "number": a.number,
            "stage": stage_text(a.stage, t),
            "updated": date_text(t, a.updated_at, ctx.office.tz),
        }
        for a in await store.recent(RECENT_SHOWN)
    ]
    return render(
        request,
        "staff/applications.html",
        slip_languages=SLIP_LANGUAGES,
        staff=True,
        device=device,
        location=None,
        query=query,
        search_error=search_error,
        create_number=number,
        recent=recent,
    )


async def create_form(request: Request) -> Response:
    """Creates the application and shows its PIN - on this answer only (no redirect: the
    PIN must not travel in a cookie or wait in Redis for the next page)."""
    ctx = context(request)
    device = await sessions.require_staff(request, CASEWORKER_ROLES)
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    t = Translator(language(request))
    try:
        number = check_number(form.get("number", "")[:100])
        idem = _form_idempotency(device, request.url.path, form)
        change, pin = await ctx.applications.create(device, number, idem)
    except ApplicationExists as e:
        sessions.flash(request, "error", t.error(e))
        return _redirect(_detail_path(e.extra["number"]), request)
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
        return _redirect(HOME, request)
    return _pin_page(
        request,
        ctx,
        device,
        t,
        change.application,
        pin,
        created=True,
        status=201,
        slip_lang=form.get("slip_lang", ""),
    )


def _pin_page(
    request: Request,
    ctx: AppContext,
    device: Actor,
    t: Translator,
    application: Application,
    pin: str | None,
    *,
    created: bool,
    status: int = 200,
    slip_lang: str = "",
) -> Response:
    # A screen reader reads "1234 5678" as two numbers; digit by digit is what a letter needs.
    spoken = f"{' '.join(pin[:4])}, {' '.join(pin[4:])}" if pin else None
    # The slip in German (the letter's language) and in the citizen's, chosen on the form;
    # its address and QR code open the lookup in the citizen's language.
    citizen = slip_lang if slip_lang in CITIZEN_LANGUAGES else "en"
    status_url = public_base(request) + with_lang("/status", citizen)
    return render(
        request,
        "staff/applications_pin.html",
        status=status,
        staff=True,
        language_switch=False,  # (it would lose the PIN, which is shown once)
        device=device,
        location=None,
        number=application.number,
        pin=group_pin(pin) if pin else None,
        pin_spoken=spoken,
        created=created,
        stage=stage_text(application.stage, t),
        detail=_detail_path(application.number),
        # Its QR code leads to the lookup - never with the PIN in it.
        slip=[Translator(lang) for lang in dict.fromkeys((DEFAULT_LANGUAGE, citizen))],
        office=ctx.office,
        status_url=status_url,
        status_qr=qr.svg(status_url, t("QR-Code: Stand des Antrags abfragen")) if pin else None,
    )


def _audit_row(t: Translator, entry: AuditEntry, tz: Any) -> dict[str, Any]:
    moment = from_ms(entry.at, tz)
    if entry.action is AuditAction.CREATED:
        what = t("angelegt ({stage})", stage=stage_text(entry.stage, t))
    elif entry.action is AuditAction.PIN_RESET:
        what = t("neue PIN erzeugt")
    else:
        old = stage_text(entry.old_stage, t) if entry.old_stage else "–"
        what = t("{old} → {new}", old=old, new=stage_text(entry.stage, t))
    return {
        "when": t(
            "{date}, {time} Uhr",
            date=date_text(t, entry.at, tz),
            time=t.clock(moment),
        ),
        "device": entry.device,
        "what": what,
        "missing": list(entry.missing) if entry.action is AuditAction.STAGE else [],
    }


async def detail_page(request: Request) -> Response:
    ctx = context(request)
    device = await sessions.require_staff(request, CASEWORKER_ROLES)
    number = check_number(request.path_params["number"][:100])
    return await _detail_page(request, ctx, device, number)


async def _detail_page(
    request: Request,
    ctx: AppContext,
    device: Actor,
    number: str,
    *,
    status: int = 200,
    error: WaitboardError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    """The application's page; after a stage form that did not fit, with what was typed in
    it kept for correcting and the message beside the field it is about."""
    t = Translator(language(request))
    application, entries = await ctx.applications.history(number)
    tz = ctx.office.tz
    return render(
        request,
        "staff/applications_detail.html",
        slip_languages=SLIP_LANGUAGES,
        status=status,
        staff=True,
        device=device,
        location=None,
        application=application,
        stage=stage_text(application.stage, t),
        updated=date_text(t, application.updated_at, tz),
        delete_on=date_text(t, application.delete_at, tz) if application.delete_at else None,
        delete_on_if_decided=date_text(
            t,
            decision_deletes_at(
                to_ms(ctx.clock()), ctx.office.applications.keep_days_after_decision
            ),
            tz,
        ),
        stages=[(s.value, stage_text(s, t)) for s in Stage],
        chosen_stage=form.get("stage", application.stage) if form else application.stage,
        missing_text=form.get("missing", "") if form else "\n".join(application.missing),
        stage_error=t.error(error) if error else None,
        error_field=error.extra.get("field") if error else None,
        history=[_audit_row(t, e, tz) for e in reversed(entries)],
    )


async def _application_form(
    request: Request,
) -> tuple[Actor, dict[str, str], Translator, str | Response]:
    """A caseworker's form about one application: the device, the form (CSRF checked), the
    texts, and the checked number - or, for a malformed one, the way back with a message."""
    device = await sessions.require_staff(request, CASEWORKER_ROLES)
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    t = Translator(language(request))
    try:
        return device, form, t, check_number(request.path_params["number"][:100])
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
        return device, form, t, _redirect(HOME, request)


async def stage_form(request: Request) -> Response:
    ctx = context(request)
    device, form, t, number = await _application_form(request)
    if isinstance(number, Response):
        return number
    try:
        try:
            stage = Stage(form.get("stage", ""))
        except ValueError:
            raise InvalidChange(
                "Choose one of the stages.", field="stage", reason="no_stage"
            ) from None
        idem = _form_idempotency(device, request.url.path, form)
        lines = form.get("missing", "").splitlines()
        change = await ctx.applications.set_stage(device, number, stage, lines, idem)
    except InvalidChange as e:
        # The form again, as typed: twenty lines of documents are not typed twice.
        return await _detail_page(
            request, ctx, device, number, status=status_of(e), error=e, form=form
        )
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
        return _redirect(_detail_path(number), request)
    sessions.flash(
        request,
        "ok",
        t("Gespeichert: {stage}.", stage=stage_text(change.application.stage, t))
        if change.changed
        else t("Nichts geändert – Stand und Liste waren schon so."),
    )
    return _redirect(_detail_path(number), request)


async def pin_form(request: Request) -> Response:
    """A new PIN for a lost letter (or a lost first answer); the old one stops working."""
    ctx = context(request)
    device, form, t, number = await _application_form(request)
    if isinstance(number, Response):
        return number
    try:
        idem = _form_idempotency(device, request.url.path, form)
        change, pin = await ctx.applications.reset_pin(device, number, idem)
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
        return _redirect(_detail_path(number), request)
    return _pin_page(
        request,
        ctx,
        device,
        t,
        change.application,
        pin,
        created=False,
        slip_lang=form.get("slip_lang", ""),
    )


async def delete_form(request: Request) -> Response:
    """Deletes the application now - only with the form's tick box checked (the browser's
    question before it is for those with JavaScript), and only the one the page showed
    (its creation time), not one filed anew under the number since; then to the list."""
    ctx = context(request)
    device, form, t, number = await _application_form(request)
    if isinstance(number, Response):
        return number
    if form.get("confirm") != "yes":
        sessions.flash(
            request,
            "error",
            t("Nichts gelöscht: Bitte bestätigen Sie das Löschen mit dem Häkchen."),
        )
        return _redirect(_detail_path(number), request)
    seen = form.get("created_at", "")
    try:
        await ctx.applications.delete(
            device,
            number,
            _form_idempotency(device, request.url.path, form),
            (int(seen), int(seen)) if seen.isdigit() else None,
        )
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
        # (Filed anew: the caseworker sees the application that is there now.)
        return _redirect(_detail_path(number) if isinstance(e, FiledAnew) else HOME, request)
    sessions.flash(
        request, "ok", t("Antrag {number} ist mit PIN und Verlauf gelöscht.", number=number)
    )
    return _redirect(HOME, request)


def routes() -> list[Route]:
    return [
        Route("/status", application_status.status_page, methods=["GET"]),
        Route("/status", application_status.status_lookup, methods=["POST"]),
        Route(HOME, list_page, methods=["GET"]),
        Route(HOME, create_form, methods=["POST"]),
        Route(HOME + "/{number}", detail_page, methods=["GET"]),
        Route(HOME + "/{number}/stage", stage_form, methods=["POST"]),
        Route(HOME + "/{number}/pin", pin_form, methods=["POST"]),
        Route(HOME + "/{number}/delete", delete_form, methods=["POST"]),
    ]
