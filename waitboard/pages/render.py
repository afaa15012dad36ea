"""Rendering pages from ``kiosk_templates/``: one Jinja environment, one ``render``.

Every page gets the translator ``t`` for its language, the texts the JS module needs, the
office's time zone (clocks on screens show office time, whatever the device is set to), the
demo flag, and - for staff pages - the CSRF token and a flash message.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Match

from waitboard.context import context
from waitboard.i18n import Translator, pick_language
from waitboard.pages import sessions

_env = Environment(
    loader=PackageLoader("kiosk_templates", "."),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
    trim_blocks=True,
    lstrip_blocks=True,
)


def hhmm(iso: str | None) -> str:
    """``2026-11-25T10:42:07+01:00`` -> ``10:42`` (times are already local)."""
    return iso[11:16] if iso else ""


def when(iso: str | None, t: Translator) -> str:
    """``2026-12-03T10:20+01:00`` -> ``Do 03.12.2026, 10:20 Uhr``, ``Thu 3 Dec 2026, 10:20``
    (times are local)."""
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso)
    return t(
        "{day} {date}, {time} Uhr",
        day=t.weekday(moment.weekday()),
        date=t.day(moment.date()),
        time=t.clock(moment),
    )


_env.filters["hhmm"] = hhmm
_env.filters["when"] = when
# A one-time key for a form that changes something: it becomes the Idempotency-Key, so
# submitting the same rendered form twice acts once.
_env.globals["new_key"] = lambda: secrets.token_urlsafe(12)


def language(request: Request) -> str:
    return pick_language(request.query_params.get("lang"))


def other_language_url(request: Request, lang: str) -> str:
    """This page in the other language, always a path of this site (never "//other.host").
    After a form (a POST): the page of the same address, where there is one - the form,
    without what was posted (the status lookup, a booking) - else the start page."""
    other = "en" if lang == "de" else "de"
    if request.method != "GET":
        if _has_page(request):
            return "/" + request.url.path.lstrip("/") + f"?lang={other}"
        return f"/?lang={other}"
    params = dict(request.query_params)
    params["lang"] = other
    return "/" + request.url.path.lstrip("/") + "?" + urlencode(params)


def this_page_url(request: Request) -> str | None:
    """Where to try this request again, always a path of this site: a page as it was
    asked for; after a form, the page of the same address (the form, in the same
    language), where there is one; else None."""
    path = "/" + request.url.path.lstrip("/")
    if request.method == "GET":
        return path + (f"?{request.url.query}" if request.url.query else "")
    if _has_page(request):
        return with_lang(path, language(request))
    return None


def _has_page(request: Request) -> bool:
    """Whether a GET of this request's address is a page (the form a POST came from)."""
    as_get = {**request.scope, "method": "GET"}
    return any(route.matches(as_get)[0] is Match.FULL for route in request.app.routes)


def public_base(request: Request) -> str:
    """The address citizens reach this site by, for what is printed or scanned: the
    configured one, else the request's (a kiosk may reach the server by an internal name
    that a citizen's phone cannot)."""
    return context(request).settings.public_url or str(request.base_url).rstrip("/")


def see_other(path: str) -> Response:
    """Post/redirect/get: after a form, the browser fetches the next page itself (never from
    a cache), so a reload does not send the form again."""
    return RedirectResponse(path, status_code=303, headers={"Cache-Control": "no-store"})


def with_lang(path: str, lang: str) -> str:
    """A link that keeps the page's language."""
    if lang == "de":
        return path
    return f"{path}{'&' if '?' in path else '?'}lang={lang}"


def render(
    request: Request,
    template: str,
    status: int = 200,
    *,
    staff: bool = False,
    language_switch: bool = True,
    **values: Any,
) -> Response:
    """``staff``: the page may use the session (CSRF token, flash). Public pages never
    touch it, so the public gets no cookie at all. ``language_switch=False``: no link to
    the other language, for a page shown once (a new PIN) that the link would lose."""
    ctx = context(request)
    lang = language(request)
    t = Translator(lang)
    html = _env.get_template(template).render(
        t=t,
        lang=lang,
        ngettext=t.ngettext,
        pgettext=t.pgettext,
        texts=t.js_texts(),
        demo=ctx.settings.demo,
        request=request,
        tz=ctx.office.timezone,
        other_language_url=other_language_url(request, lang) if language_switch else None,
        link=lambda path: with_lang(path, lang),
        csrf=sessions.csrf_token(request) if staff else "",
        flash=sessions.take_flash(request) if staff else None,
        **values,
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
