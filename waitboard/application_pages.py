"""Application status: the citizen's lookup and the caseworkers' pages and API.

The citizen: ``/status`` (a form, the answer on the same page) and
``POST /api/v1/applications/lookup``. A wrong PIN and an unknown number get the same answer
(status, body and the same hashing work); wrong attempts are counted in Redis per client
address and per number, so the limits hold across every server process.

Caseworkers (and admins): ``/staff/applications`` (search, create, recent changes), one
page per application (stage, missing documents, new PIN, history) and the API. The PIN is
shown once, in the answer that made it; Redis keeps only its scrypt record. Application
numbers travel in bodies, not in API paths; logs never carry numbers, PINs or addresses.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from waitboard import api, bodies, problems, sessions
from waitboard import application_schemas as shapes
from waitboard.api import Endpoint
from waitboard.application_store import ApplicationStore, idempotency_key, limit_key
from waitboard.applications import (
    CASEWORKER_ROLES,
    NUMBER_INPUT_PATTERN,
    Application,
    ApplicationExists,
    AuditAction,
    AuditEntry,
    InvalidChange,
    LookupFailed,
    LookupLimits,
    Stage,
    TooManyAttempts,
    audit_answer,
    check_missing,
    check_number,
    day_of,
    group_pin,
    hash_pin,
    limit_digest,
    new_pin,
    normalise_pin,
    public_answer,
    staff_answer,
    stage_text,
    verify_pin,
)
from waitboard.auth import require
from waitboard.clock import from_ms, to_ms
from waitboard.config import Device
from waitboard.context import AppContext, context
from waitboard.errors import Unprocessable, WaitboardError
from waitboard.i18n import LANGUAGES, Translator
from waitboard.render import language, render, with_lang
from waitboard.store import Idempotency

LIMITS = LookupLimits()
#: PIN hashes computed at once per process: each takes 16 MiB and a core for ~50 ms.
HASHING_AT_ONCE = 4
#: How many recently changed applications the caseworkers' start page lists.
RECENT_SHOWN = 30
HOME = "/staff/applications"
#: As in api.py: 1-255 visible ASCII characters.
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
T = TypeVar("T")


def store_of(ctx: AppContext) -> ApplicationStore:
    """The application store on the service's own Redis clients (cheap to build)."""
    return ApplicationStore(ctx.store.redis, ctx.store.reads,
                            wait_replicas=ctx.store.wait_replicas)


async def _hashing(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """Run a PIN hash in a worker thread, a few at a time (memory, and the event loop)."""
    state = request.app.state
    gate: asyncio.Semaphore | None = getattr(state, "pin_hashing", None)
    if gate is None:
        gate = state.pin_hashing = asyncio.Semaphore(HASHING_AT_ONCE)
    async with gate:
        return await asyncio.to_thread(fn, *args)


# --- the lookup, for the API and the page ---------------------------------------------------


async def _lookup(request: Request, number: str, pin: str) -> Application:
    """The application if number and PIN fit; LookupFailed (the same for a wrong PIN and an
    unknown number) or TooManyAttempts otherwise. Wrong attempts are counted first and a
    right one gives its count back, so parallel guesses cannot slip past the limits."""
    ctx = context(request)
    store = store_of(ctx)
    secret = ctx.settings.secret_key
    address = request.client.host if request.client else "unknown"
    counters = [(limit_key("address", limit_digest(secret, "address", address)),
                 LIMITS.per_address, LIMITS.address_window_s),
                (limit_key("number", limit_digest(secret, "number", number)),
                 LIMITS.per_number, LIMITS.number_window_s)]
    for key, limit, window_s in counters:
        wait = await store.reserve(key, limit, window_s)
        if wait > 0:
            raise TooManyAttempts(max(1, math.ceil(wait)))
    application, record = await store.credentials(number)
    if not await _hashing(request, verify_pin, pin, record) or application is None:
        raise LookupFailed
    for key, _, _ in counters:
        await store.refund(key)
    return application


def _too_many(err: TooManyAttempts, request: Request) -> Response:
    return problems.problem(err.status, err.code, err.title, err.detail, request.url.path,
                            {"Retry-After": str(err.retry_after_s)}, err.extra)


# --- API ------------------------------------------------------------------------------------


def _api_language(request: Request) -> Translator:
    lang = request.query_params.get("lang", "de")
    if lang not in LANGUAGES:
        raise Unprocessable("lang must be de or en.", field="lang")
    return Translator(lang)


def _api_idempotency(request: Request, device: Device, body: BaseModel) -> Idempotency | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise Unprocessable("The Idempotency-Key header must be 1 to 255 visible ASCII "
                            "characters, e.g. a UUID.", field="Idempotency-Key")
    return Idempotency(idempotency_key(device.id, key),
                       bodies.fingerprint(request.method, request.url.path, body))


def _caseworker(request: Request) -> Device:
    device = context(request).devices.authenticate(request.headers.get("authorization"))
    require(device, CASEWORKER_ROLES)
    return device


def _with_pin(ctx: AppContext, t: Translator, application: Application,
              pin: str | None) -> dict[str, Any]:
    return {**staff_answer(application, t, ctx.office.tz), "pin": pin,
            "pin_display": group_pin(pin) if pin else None}


async def lookup_application(request: Request) -> Response:
    t = _api_language(request)
    body = await bodies.parse(request, shapes.LookupRequest)
    number, pin = check_number(body.number), normalise_pin(body.pin)
    try:
        application = await _lookup(request, number, pin)
    except TooManyAttempts as e:
        return _too_many(e, request)
    return api.json(public_answer(application, t, context(request).office.tz))


async def create_application(request: Request) -> Response:
    ctx = context(request)
    device = _caseworker(request)
    t = _api_language(request)
    body = await bodies.parse(request, shapes.CreateApplicationRequest)
    number = check_number(body.number)
    idem = _api_idempotency(request, device, body)
    pin = new_pin()
    record = await _hashing(request, hash_pin, pin)
    change = await store_of(ctx).create(number, record, device.id, to_ms(ctx.clock()), idem)
    headers = {"Idempotent-Replayed": "true"} if change.replayed else {}
    return api.json(_with_pin(ctx, t, change.application, None if change.replayed else pin),
                    change.status, headers)


async def set_stage(request: Request) -> Response:
    ctx = context(request)
    device = _caseworker(request)
    t = _api_language(request)
    body = await bodies.parse(request, shapes.StageRequest)
    number = check_number(body.number)
    stage = Stage(body.stage)
    missing = check_missing(stage, body.missing)
    change = await store_of(ctx).set_stage(number, stage, missing, device.id,
                                           to_ms(ctx.clock()),
                                           _api_idempotency(request, device, body))
    headers = {"Idempotent-Replayed": "true"} if change.replayed else {}
    return api.json(staff_answer(change.application, t, ctx.office.tz), headers=headers)


async def reset_pin(request: Request) -> Response:
    ctx = context(request)
    device = _caseworker(request)
    t = _api_language(request)
    body = await bodies.parse(request, shapes.PinRequest)
    number = check_number(body.number)
    idem = _api_idempotency(request, device, body)
    pin = new_pin()
    record = await _hashing(request, hash_pin, pin)
    change = await store_of(ctx).reset_pin(number, record, device.id, to_ms(ctx.clock()),
                                           idem)
    headers = {"Idempotent-Replayed": "true"} if change.replayed else {}
    return api.json(_with_pin(ctx, t, change.application, None if change.replayed else pin),
                    headers=headers)


async def application_audit(request: Request) -> Response:
    ctx = context(request)
    _caseworker(request)
    t = _api_language(request)
    number = check_number(request.query_params.get("number", ""))
    application, entries = await store_of(ctx).history(number)
    return api.json({"application": staff_answer(application, t, ctx.office.tz),
                     "entries": [audit_answer(e, ctx.office.tz) for e in entries]})


# --- the citizen's page ---------------------------------------------------------------------


def _date(t: Translator, ms: int, tz: Any) -> str:
    d, m, y = day_of(ms, tz)
    return t("applications.date", d=d, m=m, y=y)


async def status_page(request: Request) -> Response:
    return render(request, "status.html", number="", errors={}, failure=None, result=None)


async def status_lookup(request: Request) -> Response:
    """The form's answer on the same page: the stage, or a message that says what to do.
    The PIN comes in the body only, and the page is never cached (render: no-store)."""
    ctx = context(request)
    t = Translator(language(request))
    form = await bodies.read_form(request)
    raw_number = form.get("number", "")[:100]
    errors: dict[str, str] = {}
    number = pin = ""
    try:
        number = check_number(raw_number)
    except WaitboardError:
        errors["number"] = t("applications.status.number_invalid")
    try:
        pin = normalise_pin(form.get("pin", "")[:100])
    except WaitboardError:
        errors["pin"] = t("applications.status.pin_invalid")
    if errors:
        return render(request, "status.html", status=422, number=raw_number, errors=errors,
                      failure=None, result=None)
    try:
        application = await _lookup(request, number, pin)
    except TooManyAttempts as e:
        response = render(request, "status.html", status=429, number=number, errors={},
                          failure=t("applications.status.too_many", minutes=e.extra["minutes"]),
                          result=None)
        response.headers["Retry-After"] = str(e.retry_after_s)
        return response
    except LookupFailed:
        return render(request, "status.html", status=404, number=number, errors={},
                      failure=t("applications.status.not_found"), result=None)
    result = public_answer(application, t, ctx.office.tz)
    result["updated_on"] = _date(t, application.updated_at, ctx.office.tz)
    return render(request, "status.html", number="", errors={}, failure=None, result=result)


# --- the caseworkers' pages -----------------------------------------------------------------


def _redirect(path: str, request: Request) -> Response:
    return RedirectResponse(with_lang(path, language(request)), status_code=303,
                            headers={"Cache-Control": "no-store"})


def _form_idempotency(device: Device, path: str, form: dict[str, str]) -> Idempotency | None:
    """The form's one-time ``key`` as Idempotency-Key (as staff.py does): a double click
    acts once."""
    key = form.get("key", "")
    if not key or len(key) > 100:
        return None
    fields = {k: v for k, v in form.items() if k not in ("csrf", "key")}
    return Idempotency(idempotency_key(device.id, "form:" + key), bodies.fingerprint_of(
        "POST", path, orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)))


def _detail_path(number: str) -> str:
    return f"{HOME}/{number}"


async def list_page(request: Request) -> Response:
    """Search by number, create, and the applications changed last."""
    ctx = context(request)
    device = await sessions.require_staff(request, CASEWORKER_ROLES)
    t = Translator(language(request))
    store = store_of(ctx)
    query = request.query_params.get("number", "")[:100]
    searched, search_error, number = bool(query.strip()), "", ""
    if searched:
        try:
            number = check_number(query)
        except WaitboardError:
            search_error = t("applications.staff.number_invalid")
        else:
            if await store.application(number) is not None:
                return _redirect(_detail_path(number), request)
            search_error = t("applications.staff.not_found", number=number)
    recent = [{"number": a.number, "stage": stage_text(a.stage, t),
               "updated": _date(t, a.updated_at, ctx.office.tz)}
              for a in await store.recent(RECENT_SHOWN)]
    return render(request, "staff/applications.html", staff=True, device=device,
                  location=None, query=query, search_error=search_error,
                  create_number=number, recent=recent)


async def create_form(request: Request) -> Response:
    """Creates the application and shows its PIN - on this answer only (no redirect: the
    PIN must not travel in a cookie or wait in Redis for the next page)."""
    ctx = context(request)
    device = await sessions.require_staff(request, CASEWORKER_ROLES)
    form = await bodies.read_form(request)
    sessions.check_csrf(request, form)
    t = Translator(language(request))
    try:
        number = check_number(form.get("number", "")[:100])
        pin = new_pin()
        record = await _hashing(request, hash_pin, pin)
        change = await store_of(ctx).create(number, record, device.id, to_ms(ctx.clock()),
                                            _form_idempotency(device, request.url.path, form))
    except ApplicationExists as e:
        sessions.flash(request, "error", t.error(e))
        return _redirect(_detail_path(e.extra["number"]), request)
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
        return _redirect(HOME, request)
    return _pin_page(request, ctx, device, t, change.application,
                     None if change.replayed else pin, created=True, status=201)


def _pin_page(request: Request, ctx: AppContext, device: Device, t: Translator,
              application: Application, pin: str | None, *, created: bool,
              status: int = 200) -> Response:
    # A screen reader reads "1234 5678" as two numbers; digit by digit is what a letter needs.
    spoken = f"{' '.join(pin[:4])}, {' '.join(pin[4:])}" if pin else None
    return render(request, "staff/applications_pin.html", status=status, staff=True,
                  device=device, location=None, number=application.number,
                  pin=group_pin(pin) if pin else None, pin_spoken=spoken, created=created,
                  stage=stage_text(application.stage, t),
                  detail=_detail_path(application.number))


def _audit_row(t: Translator, entry: AuditEntry, tz: Any) -> dict[str, Any]:
    moment = from_ms(entry.at, tz)
    if entry.action is AuditAction.CREATED:
        what = t("applications.audit.created", stage=stage_text(entry.stage, t))
    elif entry.action is AuditAction.PIN_RESET:
        what = t("applications.audit.pin_reset")
    else:
        old = stage_text(entry.old_stage, t) if entry.old_stage else "–"
        what = t("applications.audit.stage", old=old, new=stage_text(entry.stage, t))
    return {"when": t("applications.datetime", date=_date(t, entry.at, tz),
                      time=f"{moment:%H:%M}"),
            "device": entry.device, "what": what,
            "missing": list(entry.missing) if entry.action is AuditAction.STAGE else []}


async def detail_page(request: Request) -> Response:
    ctx = context(request)
    device = await sessions.require_staff(request, CASEWORKER_ROLES)
    t = Translator(language(request))
    number = check_number(request.path_params["number"][:100])
    application, entries = await store_of(ctx).history(number)
    tz = ctx.office.tz
    return render(request, "staff/applications_detail.html", staff=True, device=device,
                  location=None, application=application,
                  stage=stage_text(application.stage, t),
                  updated=_date(t, application.updated_at, tz),
                  stages=[(s.value, stage_text(s, t)) for s in Stage],
                  missing_text="\n".join(application.missing),
                  history=[_audit_row(t, e, tz) for e in reversed(entries)])


async def stage_form(request: Request) -> Response:
    ctx = context(request)
    device = await sessions.require_staff(request, CASEWORKER_ROLES)
    form = await bodies.read_form(request)
    sessions.check_csrf(request, form)
    t = Translator(language(request))
    try:
        number = check_number(request.path_params["number"][:100])
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
        return _redirect(HOME, request)
    try:
        try:
            stage = Stage(form.get("stage", ""))
        except ValueError:
            raise InvalidChange("Choose one of the stages.", field="stage") from None
        missing = check_missing(stage, form.get("missing", "").splitlines())
        change = await store_of(ctx).set_stage(
            number, stage, missing, device.id, to_ms(ctx.clock()),
            _form_idempotency(device, request.url.path, form))
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
        return _redirect(_detail_path(number), request)
    sessions.flash(request, "ok", t("applications.flash.saved",
                                    stage=stage_text(change.application.stage, t))
                   if change.changed else t("applications.flash.unchanged"))
    return _redirect(_detail_path(number), request)


async def pin_form(request: Request) -> Response:
    """A new PIN for a lost letter (or a lost first answer); the old one stops working."""
    ctx = context(request)
    device = await sessions.require_staff(request, CASEWORKER_ROLES)
    form = await bodies.read_form(request)
    sessions.check_csrf(request, form)
    t = Translator(language(request))
    try:
        number = check_number(request.path_params["number"][:100])
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
        return _redirect(HOME, request)
    try:
        pin = new_pin()
        record = await _hashing(request, hash_pin, pin)
        change = await store_of(ctx).reset_pin(
            number, record, device.id, to_ms(ctx.clock()),
            _form_idempotency(device, request.url.path, form))
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
        return _redirect(_detail_path(number), request)
    return _pin_page(request, ctx, device, t, change.application,
                     None if change.replayed else pin, created=False)


# --- the tables -----------------------------------------------------------------------------

_LANG = ("lang", "Language of the texts: de (default) or en.",
         {"type": "string", "enum": list(LANGUAGES)})
_CHANGE_ERRORS = (401, 403, 404, 413, 415, 422, 503)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/api/v1/applications/lookup", lookup_application,
             "A citizen looks up the stage of an application with its number and PIN. A "
             "wrong PIN and an unknown number get the same 404; after 10 wrong attempts a "
             "minute from one address, or 20 an hour for one number, 429.",
             body=shapes.LookupRequest, answers={200: shapes.ApplicationStatus},
             errors=(404, 413, 415, 422, 503), tag="applications", query=(_LANG,)),
    Endpoint("POST", "/api/v1/applications", create_application,
             "Create an application at the stage received; the answer carries its new PIN, "
             "the only time it is shown (409: the number exists).",
             roles=CASEWORKER_ROLES, body=shapes.CreateApplicationRequest,
             answers={201: shapes.ApplicationWithPin},
             errors=(401, 403, 409, 413, 415, 422, 503), tag="applications", query=(_LANG,)),
    Endpoint("POST", "/api/v1/applications/stage", set_stage,
             "Set an application's stage and, for documents_missing, what is missing.",
             roles=CASEWORKER_ROLES, body=shapes.StageRequest,
             answers={200: shapes.Application}, errors=_CHANGE_ERRORS, tag="applications",
             query=(_LANG,)),
    Endpoint("POST", "/api/v1/applications/pin", reset_pin,
             "Give an application a new PIN (for a new letter); the old one stops working.",
             roles=CASEWORKER_ROLES, body=shapes.PinRequest,
             answers={200: shapes.ApplicationWithPin}, errors=_CHANGE_ERRORS,
             tag="applications", query=(_LANG,)),
    Endpoint("GET", "/api/v1/applications/audit", application_audit,
             "An application and its history: who (device) changed what, and when.",
             roles=CASEWORKER_ROLES, answers={200: shapes.ApplicationHistory},
             errors=(401, 403, 404, 422, 503), tag="applications",
             query=(("number", "The application number (required).",
                     {"type": "string", "pattern": NUMBER_INPUT_PATTERN}), _LANG)),
)


def routes() -> list[Route]:
    return [
        *(Route(e.path, e.handler, methods=[e.method]) for e in ENDPOINTS),
        Route("/status", status_page, methods=["GET"]),
        Route("/status", status_lookup, methods=["POST"]),
        Route(HOME, list_page, methods=["GET"]),
        Route(HOME, create_form, methods=["POST"]),
        Route(HOME + "/{number}", detail_page, methods=["GET"]),
        Route(HOME + "/{number}/stage", stage_form, methods=["POST"]),
        Route(HOME + "/{number}/pin", pin_form, methods=["POST"]),
    ]
