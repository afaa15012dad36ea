"""Signing in with the office's service account (OpenID Connect), choosing the workplace,
signing out at the provider too.

The way there and back: ``/staff/sign-in`` starts a flow (its cookie: SameSite Lax, path
/auth, ten minutes) and sends the browser to the provider; the provider sends it back,
cross-site, to ``/auth/callback``, which checks everything (``services/staff_sign_in.py``)
without touching the staff cookie - SameSite Strict, the browser does not send it on a
cross-site redirect, and a cookie written there would replace a counter PC's device login.
The callback's page goes on by itself, now same-site, to ``/auth/done``, which puts the new
session's id into the staff cookie.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from waitboard.context import context
from waitboard.core.errors import NotFound, WorkplaceRequired
from waitboard.core.staff import Workplace
from waitboard.i18n import Translator
from waitboard.pages import forms, sessions
from waitboard.pages.errors import sign_in_problem
from waitboard.pages.render import language, link_for, public_base, render, see_other
from waitboard.pages.sessions import home_of
from waitboard.services.oidc import ProviderError
from waitboard.services.staff_sign_in import FLOW_TTL_S, SignInProblem, StaffSignIn

FLOW_COOKIE = "waitboard_signin"
FLOW_PATH = "/auth"
CALLBACK = "/auth/callback"


def _service(request: Request) -> StaffSignIn:
    found = context(request).sign_in
    if found is None:
        raise NotFound("Staff sign-in with a service account is not configured here.")
    return found


def _set_flow_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        FLOW_COOKIE,
        value,
        max_age=FLOW_TTL_S,
        path=FLOW_PATH,
        httponly=True,
        samesite="lax",
        secure=context(request).settings.env == "production",
    )


def _drop_flow_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        FLOW_COOKIE,
        path=FLOW_PATH,
        httponly=True,
        samesite="lax",
        secure=context(request).settings.env == "production",
    )


def safe_next(value: str | None) -> str | None:
    """Only paths of this site (no //host, no scheme): no open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return None


async def start(request: Request) -> Response:
    """To the provider, with a new flow."""
    service = _service(request)
    try:
        flow_id, url = await service.start(
            public_base(request) + CALLBACK, safe_next(request.query_params.get("next"))
        )
    except ProviderError:
        return sign_in_problem(request, "provider")
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    _set_flow_cookie(request, response, flow_id)
    return response


async def callback(request: Request) -> Response:
    """Back from the provider (cross-site): checked, then on to /auth/done same-site."""
    service = _service(request)
    params = {k: v[:4096] for k, v in request.query_params.items()}
    try:
        await service.finish(
            request.cookies.get(FLOW_COOKIE), params, public_base(request) + CALLBACK
        )
    except SignInProblem as e:
        response = sign_in_problem(request, e.reason)
        _drop_flow_cookie(request, response)
        return response
    # (A page, not a redirect: a redirect would stay cross-site, and the staff cookie with it.)
    return render(
        request,
        "staff/sign_in_continue.html",
        staff=False,
        language_switch=False,  # (its links would carry the code and the state)
        device=None,
        location=None,
    )


async def done(request: Request) -> Response:
    """Same-site now: the new session's id into the staff cookie, then to work."""
    service = _service(request)
    try:
        sid, next_path = await service.handoff(request.cookies.get(FLOW_COOKIE))
    except SignInProblem as e:
        response = sign_in_problem(request, e.reason)
        _drop_flow_cookie(request, response)
        return response
    old = request.session.get(sessions.PERSON)
    if old and old != sid:
        replaced = await service.sign_out(str(old))  # (a new sign-in replaces the one before)
        if replaced is not None:
            await context(request).store.record_staff_action("sign_out", replaced)
    device = await sessions.current_device(request)
    await service.arrived(sid, device.id if device else None)
    request.session[sessions.PERSON] = sid
    request.session[sessions.CSRF_FIELD] = secrets.token_urlsafe(32)  # a new sign-in, a new one
    try:
        actor = await sessions.current_actor(request)
    except WorkplaceRequired:
        actor = None
    if actor is None:
        nxt = safe_next(next_path)
        target = "/staff/workplace" + (f"?next={quote(nxt)}" if nxt else "")
    else:
        target = safe_next(next_path) or home_of(actor)
    response = see_other(link_for(request, target))
    _drop_flow_cookie(request, response)
    return response


def _label(t: Translator, request: Request, w: Workplace) -> str:
    office = context(request).office
    roles = {
        "reception": t("Empfang"),
        "counter": t("Schalter"),
        "caseworker": t("Sachbearbeitung"),
        "admin": t("Verwaltung"),
    }
    if w.location is None:
        return roles[w.role]
    loc = office.location_by_id[w.location]
    if w.role == "counter" and w.counters:
        counter = loc.counter_by_id[w.counters[0]]
        return f"{t.name(counter)} – {t.name(loc)}"
    return f"{roles[w.role]} – {t.name(loc)}"


async def workplace_page(request: Request) -> Response:
    """Where the person works this session, among what their groups allow."""
    found = await sessions.person_session(request)
    if found is None:
        return see_other(link_for(request, "/staff/login"))
    t = Translator(language(request))
    options = [
        {"value": str(i), "label": _label(t, request, w), "checked": w == found.chosen}
        for i, w in enumerate(found.options)
    ]
    names = await context(request).store.person_names([found.person])
    request.state.staff_name = names.get(found.person)
    return render(
        request,
        "staff/workplace.html",
        staff=True,
        device=None,
        location=None,
        person_signed_in=True,  # (sign-out is offered even without a name in the directory)
        options=options,
        next=safe_next(request.query_params.get("next")) or "",
    )


async def choose_workplace(request: Request) -> Response:
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    found = await sessions.person_session(request)
    sid = request.session.get(sessions.PERSON)
    if found is None or not sid:
        return see_other(link_for(request, "/staff/login"))
    choice = form.get("workplace", "")
    if not choice.isdigit() or int(choice) >= len(found.options):
        t = Translator(language(request))
        sessions.flash(request, "error", t("Bitte wählen Sie einen Arbeitsplatz."))
        return see_other(link_for(request, "/staff/workplace"))
    workplace = found.options[int(choice)]
    device = await sessions.current_device(request)
    await _service(request).choose(str(sid), workplace, device.id if device else None)
    actor = await sessions.current_actor(request)
    assert actor is not None
    return see_other(link_for(request, safe_next(form.get("next")) or home_of(actor)))


async def sign_out(request: Request) -> Response:
    """Ends the person's session here and, where the provider offers it, there too; a
    device's login on this browser stays."""
    service = context(request).sign_in
    sid = request.session.pop(sessions.PERSON, None)
    if service is None or not sid:
        return see_other(link_for(request, "/staff/login"))
    # The session ends first (read straight from Redis: no re-check, no workplace needed),
    # then the record of it names the person and the device the session held.
    ended = await service.sign_out(str(sid))
    if ended is not None:
        await context(request).store.record_staff_action("sign_out", ended)
    back = public_base(request) + "/staff/signed-out"
    try:
        there = await service.client.end_session_url(back)
    except ProviderError:
        there = None
    if there:
        # A page that goes on by itself, not a redirect: the form's redirect to another
        # site would break the pages' policy (form-action 'self'). It tells the provider
        # nothing of where the person was (Referrer-Policy: no-referrer, as every page).
        return render(
            request,
            "staff/signing_out.html",
            staff=False,
            device=None,
            location=None,
            provider_url=there,
        )
    return see_other(link_for(request, "/staff/signed-out"))


async def signed_out(request: Request) -> Response:
    return render(
        request,
        "staff/signed_out.html",
        staff=True,
        device=await sessions.current_device(request),
        location=None,
    )


def routes() -> list[Route]:
    return [
        Route("/staff/sign-in", start, methods=["GET"]),
        Route(CALLBACK, callback, methods=["GET"]),
        Route("/auth/done", done, methods=["GET"]),
        Route("/staff/workplace", workplace_page, methods=["GET"]),
        Route("/staff/workplace", choose_workplace, methods=["POST"]),
        Route("/staff/signed-out", signed_out, methods=["GET"]),
    ]
