"""Application status, the API: the citizen's lookup and the caseworkers' commands and reads.

The citizen: ``POST /api/v1/applications/lookup``. A wrong PIN and an unknown number get
the same answer (status, body and the same hashing work); wrong attempts are counted in
Redis per client address and per number, so the limits hold across every server process.
The commands are :mod:`waitboard.services.applications`', shared with the pages.

Caseworkers (and admins), with their device token: create, set the stage and the missing
documents, give a new PIN, read the history, delete. The PIN is shown once, in the answer
that made it; Redis keeps only its scrypt record. Application numbers travel in bodies, not
in API paths; logs never carry numbers, PINs or addresses.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from waitboard.context import AppContext, context
from waitboard.core.application_fields import NUMBER_INPUT_PATTERN, check_number
from waitboard.core.application_pins import TooManyAttempts, group_pin, normalise_pin
from waitboard.core.applications import (
    CASEWORKER_ROLES,
    Application,
    Stage,
    audit_answer,
    public_answer,
    staff_answer,
)
from waitboard.core.clock import to_ms
from waitboard.core.errors import Unprocessable
from waitboard.core.staff import Actor
from waitboard.http_status import OUTCOME_STATUS, status_of
from waitboard.i18n import LANGUAGES, Translator
from waitboard.services.auth import require
from waitboard.services.limits import address_of
from waitboard.store.idempotency import Idempotency
from waitboard.store.keys import application_idempotency
from waitboard.web import api, bodies, problems
from waitboard.web import application_schemas as shapes
from waitboard.web.api import Endpoint

log = logging.getLogger(__name__)


def _too_many(err: TooManyAttempts, request: Request) -> Response:
    return problems.problem(
        status_of(err),
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
        raise Unprocessable(f"lang must be one of {', '.join(LANGUAGES)}.", field="lang")
    return Translator(lang)


def _api_idempotency(request: Request, device: Actor, body: BaseModel) -> Idempotency | None:
    key = api.idempotency_key(request)
    if key is None:
        return None
    return Idempotency(
        application_idempotency(device.id, key),
        bodies.fingerprint(request.method, request.url.path, body),
    )


def _caseworker(request: Request) -> Actor:
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
        application = await context(request).applications.lookup(address_of(request), number, pin)
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
    change, pin = await ctx.applications.create(device, number, idem)
    return api.json(
        _with_pin(ctx, t, change.application, pin),
        OUTCOME_STATUS[change.kind],
        replayed=change.replayed,
    )


async def set_stage(request: Request) -> Response:
    ctx = context(request)
    device = _caseworker(request)
    t = _api_language(request)
    body = await bodies.parse(request, shapes.StageRequest)
    number = check_number(body.number)
    idem = _api_idempotency(request, device, body)
    change = await ctx.applications.set_stage(device, number, Stage(body.stage), body.missing, idem)
    return api.json(staff_answer(change.application, t, ctx.office.tz), replayed=change.replayed)


async def reset_pin(request: Request) -> Response:
    ctx = context(request)
    device = _caseworker(request)
    t = _api_language(request)
    body = await bodies.parse(request, shapes.PinRequest)
    number = check_number(body.number)
    idem = _api_idempotency(request, device, body)
    change, pin = await ctx.applications.reset_pin(device, number, idem)
    return api.json(_with_pin(ctx, t, change.application, pin), replayed=change.replayed)


async def delete_application(request: Request) -> Response:
    ctx = context(request)
    device = _caseworker(request)
    body = await bodies.parse(request, shapes.DeleteRequest)
    number = check_number(body.number)
    created = None if body.created_at is None else _created_second(body.created_at)
    idem = _api_idempotency(request, device, body)
    replayed = await ctx.applications.delete(device, number, idem, created)
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


async def application_audit(request: Request) -> Response:
    ctx = context(request)
    _caseworker(request)
    t = _api_language(request)
    number = check_number(request.query_params.get("number", ""))
    application, entries = await ctx.applications.history(number)
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
