"""Application status, the API: the citizen's lookup and the caseworkers' commands and reads.

The citizen: ``POST /api/v1/applications/lookup``. A wrong PIN and an unknown number get
the same answer (status, body and the same hashing work); wrong attempts are counted in
Redis per client address and per number, so the limits hold across every server process.
The lookup itself (:func:`lookup`) is shared with the ``/status`` page
(:mod:`waitboard.pages.applications`).

Caseworkers (and admins), with their device token: create, set the stage and the missing
documents, give a new PIN, read the history, delete. The PIN is shown once, in the answer
that made it; Redis keeps only its scrypt record. Application numbers travel in bodies, not
in API paths; logs never carry numbers, PINs or addresses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from waitboard.context import AppContext, context
from waitboard.core.applications import (
    CASEWORKER_ROLES,
    NUMBER_INPUT_PATTERN,
    Application,
    LookupFailed,
    LookupLimits,
    Stage,
    TooManyAttempts,
    audit_answer,
    check_missing,
    check_number,
    group_pin,
    hash_pin,
    keyed_digest,
    new_pin,
    normalise_pin,
    public_answer,
    staff_answer,
    verify_pin,
)
from waitboard.core.clock import to_ms
from waitboard.core.errors import Unprocessable
from waitboard.core.office import Device
from waitboard.i18n import LANGUAGES, Translator
from waitboard.services.auth import require
from waitboard.services.limits import address_of, retry_after
from waitboard.store.applications import ApplicationStore
from waitboard.store.keys import application_idempotency
from waitboard.store.limits import Limit
from waitboard.store.tickets import Idempotency
from waitboard.web import api, bodies, problems
from waitboard.web import application_schemas as shapes
from waitboard.web.api import Endpoint

log = logging.getLogger(__name__)

LIMITS = LookupLimits()
#: The lookup's limits as rate limits (:mod:`waitboard.store.limits`): the whole allowance at
#: once, then one attempt more per window.
BY_ADDRESS = Limit(per_minute=60 / LIMITS.address_window_s, burst=LIMITS.per_address)
BY_NUMBER = Limit(per_minute=60 / LIMITS.number_window_s, burst=LIMITS.per_number)
#: PIN hashes computed at once per process: each takes 16 MiB and a core for ~50 ms.
HASHING_AT_ONCE = 4
T = TypeVar("T")


def store_of(ctx: AppContext) -> ApplicationStore:
    """The application store on the service's own Redis clients (cheap to build)."""
    return ApplicationStore(
        ctx.store.redis,
        ctx.store.reads,
        wait_replicas=ctx.store.wait_replicas,
        keep_days_after_decision=ctx.office.applications.keep_days_after_decision,
    )


async def hashing(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """Run a PIN hash in a worker thread, a few at a time (memory, and the event loop)."""
    state = request.app.state
    gate: asyncio.Semaphore | None = getattr(state, "pin_hashing", None)
    if gate is None:
        gate = state.pin_hashing = asyncio.Semaphore(HASHING_AT_ONCE)
    async with gate:
        return await asyncio.to_thread(fn, *args)


# --- the lookup, for the API and the page ---------------------------------------------------


async def lookup(request: Request, number: str, pin: str) -> Application:
    """The application if number and PIN fit; LookupFailed (the same for a wrong PIN and an
    unknown number) or TooManyAttempts otherwise. Every attempt is charged to the client's
    and the number's rate limits before the PIN is checked, and a right one is given back,
    so parallel guesses cannot slip past the limits and a citizen who checks often is never
    locked out by themselves."""
    ctx = context(request)
    subjects = [
        ("address", address_of(request), {"lookup": BY_ADDRESS}),
        ("number", number, {"lookup": BY_NUMBER}),
    ]
    for i, (kind, value, buckets) in enumerate(subjects):
        wait = await ctx.limiter.take(kind, value, buckets)
        if wait > 0:
            for taken in subjects[:i]:  # a refused attempt counts nowhere
                await ctx.limiter.give_back(*taken)
            raise TooManyAttempts(retry_after(wait))
    application, record = await store_of(ctx).credentials(number)
    if not await hashing(request, verify_pin, pin, record) or application is None:
        raise LookupFailed
    for taken in subjects:
        await ctx.limiter.give_back(*taken)
    return application


def _too_many(err: TooManyAttempts, request: Request) -> Response:
    return problems.problem(
        err.status,
        err.code,
        err.title,
        err.detail,
        request.url.path,
        {"Retry-After": str(err.retry_after_s)},
        err.extra,
    )


# --- API ------------------------------------------------------------------------------------


def _api_language(request: Request) -> Translator:
    lang = request.query_params.get("lang", "de")
    if lang not in LANGUAGES:
        raise Unprocessable("lang must be de or en.", field="lang")
    return Translator(lang)


def _api_idempotency(request: Request, device: Device, body: BaseModel) -> Idempotency | None:
    key = api.idempotency_key(request)
    if key is None:
        return None
    return Idempotency(
        application_idempotency(device.id, key),
        bodies.fingerprint(request.method, request.url.path, body),
    )


def _caseworker(request: Request) -> Device:
    device = context(request).devices.authenticate(request.headers.get("authorization"))
    require(device, CASEWORKER_ROLES)
    return device


def _with_pin(
    ctx: AppContext, t: Translator, application: Application, pin: str | None
) -> dict[str, Any]:
    return {
        **staff_answer(application, t, ctx.office.tz),
        "pin": pin,
        "pin_display": group_pin(pin) if pin else None,
    }


async def lookup_application(request: Request) -> Response:
    t = _api_language(request)
    body = await bodies.parse(request, shapes.LookupRequest)
    number, pin = check_number(body.number), normalise_pin(body.pin)
    try:
        application = await lookup(request, number, pin)
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
    record = await hashing(request, hash_pin, pin)
    change = await store_of(ctx).create(number, record, device.id, to_ms(ctx.clock()), idem)
    return api.json(
        _with_pin(ctx, t, change.application, None if change.replayed else pin),
        change.status,
        replayed=change.replayed,
    )


async def set_stage(request: Request) -> Response:
    ctx = context(request)
    device = _caseworker(request)
    t = _api_language(request)
    body = await bodies.parse(request, shapes.StageRequest)
    number = check_number(body.number)
    stage = Stage(body.stage)
    missing = check_missing(stage, body.missing)
    change = await store_of(ctx).set_stage(
        number,
        stage,
        missing,
        device.id,
        to_ms(ctx.clock()),
        _api_idempotency(request, device, body),
    )
    return api.json(staff_answer(change.application, t, ctx.office.tz), replayed=change.replayed)


async def reset_pin(request: Request) -> Response:
    ctx = context(request)
    device = _caseworker(request)
    t = _api_language(request)
    body = await bodies.parse(request, shapes.PinRequest)
    number = check_number(body.number)
    idem = _api_idempotency(request, device, body)
    pin = new_pin()
    record = await hashing(request, hash_pin, pin)
    change = await store_of(ctx).reset_pin(number, record, device.id, to_ms(ctx.clock()), idem)
    return api.json(
        _with_pin(ctx, t, change.application, None if change.replayed else pin),
        replayed=change.replayed,
    )


async def delete_application(request: Request) -> Response:
    ctx = context(request)
    device = _caseworker(request)
    body = await bodies.parse(request, shapes.DeleteRequest)
    number = check_number(body.number)
    created = None if body.created_at is None else _created_second(body.created_at)
    replayed = await delete(ctx, number, device, _api_idempotency(request, device, body), created)
    return api.json({"number": number, "deleted": True}, replayed=replayed)


def _created_second(text: str) -> tuple[int, int]:
    """The ms of the second a delete's ``created_at`` names: the answers give it to the
    second."""
    try:
        moment: datetime | None = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in text:
        raise Unprocessable(
            f"created_at {text!r} is not a date and time with its offset; send it as the "
            "application's answer gave it, e.g. 2026-11-25T08:03:11+01:00.",
            field="created_at",
        )
    start = to_ms(moment) // 1000 * 1000
    return start, start + 999


async def delete(
    ctx: AppContext,
    number: str,
    device: Device,
    idem: Idempotency | None,
    created: tuple[int, int] | None = None,
) -> bool:
    """Delete an application now (for the API and the page); True for a replay. The log
    names the device, never the number; Redis then rewrites its append-only file, so the
    deleted records leave the disk too."""
    if idem is not None:
        # Kept for 24 h after the application is gone: a plain hash of the request would
        # give its number away to a few guesses.
        idem = Idempotency(
            idem.key, keyed_digest(ctx.settings.secret_key, "delete", idem.fingerprint)
        )
    store = store_of(ctx)
    replayed = await store.delete(number, device.id, to_ms(ctx.clock()), idem, created)
    if not replayed:
        log.info("an application was deleted by hand", extra={"device": device.id})
        # In the background: it may wait for a rewrite already running.
        ctx.in_background(store.rewrite_append_only_file())
    return replayed


async def application_audit(request: Request) -> Response:
    ctx = context(request)
    _caseworker(request)
    t = _api_language(request)
    number = check_number(request.query_params.get("number", ""))
    application, entries = await store_of(ctx).history(number)
    return api.json(
        {
            "application": staff_answer(application, t, ctx.office.tz),
            "entries": [audit_answer(e, ctx.office.tz) for e in entries],
        }
    )


# --- the table -----------------------------------------------------------------------------

_LANG = (
    "lang",
    "Language of the texts: de (default) or en.",
    {"type": "string", "enum": list(LANGUAGES)},
)
#: (409: a retry whose application was deleted by hand since its first try.)
_CHANGE_ERRORS = (401, 403, 404, 409, 413, 415, 422, 503)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "POST",
        "/api/v1/applications/lookup",
        lookup_application,
        "A citizen looks up the stage of an application with its number and PIN. A "
        "wrong PIN and an unknown number get the same 404; after 10 wrong attempts a "
        "minute from one address, or 20 an hour for one number, 429.",
        body=shapes.LookupRequest,
        answers={200: shapes.ApplicationStatus},
        errors=(404, 413, 415, 422, 503),
        tag="applications",
        query=(_LANG,),
    ),
    Endpoint(
        "POST",
        "/api/v1/applications",
        create_application,
        "Create an application at the stage received; the answer carries its new PIN, "
        "the only time it is shown (409: the number exists, or a retry whose application "
        "was deleted by hand since).",
        roles=CASEWORKER_ROLES,
        body=shapes.CreateApplicationRequest,
        answers={201: shapes.ApplicationWithPin},
        errors=(401, 403, 409, 413, 415, 422, 503),
        tag="applications",
        query=(_LANG,),
    ),
    Endpoint(
        "POST",
        "/api/v1/applications/stage",
        set_stage,
        "Set an application's stage and, for documents_missing, what is missing.",
        roles=CASEWORKER_ROLES,
        body=shapes.StageRequest,
        answers={200: shapes.Application},
        errors=_CHANGE_ERRORS,
        tag="applications",
        query=(_LANG,),
    ),
    Endpoint(
        "POST",
        "/api/v1/applications/pin",
        reset_pin,
        "Give an application a new PIN (for a new letter); the old one stops working.",
        roles=CASEWORKER_ROLES,
        body=shapes.PinRequest,
        answers={200: shapes.ApplicationWithPin},
        errors=_CHANGE_ERRORS,
        tag="applications",
        query=(_LANG,),
    ),
    Endpoint(
        "POST",
        "/api/v1/applications/delete",
        delete_application,
        "Delete an application now, with its PIN and its history (filed by mistake, or "
        "its citizen asked for erasure); the number can be filed again. Cannot be undone.",
        roles=CASEWORKER_ROLES,
        body=shapes.DeleteRequest,
        answers={200: shapes.Deleted},
        errors=_CHANGE_ERRORS,
        tag="applications",
    ),
    Endpoint(
        "GET",
        "/api/v1/applications/audit",
        application_audit,
        "An application and its history: who (device) changed what, and when.",
        roles=CASEWORKER_ROLES,
        answers={200: shapes.ApplicationHistory},
        errors=(401, 403, 404, 422, 503),
        tag="applications",
        query=(
            (
                "number",
                "The application number (required).",
                {"type": "string", "pattern": NUMBER_INPUT_PATTERN},
            ),
            _LANG,
        ),
    ),
)
