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
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Match

from waitboard.context import context
from waitboard.core.languages import AUTONYMS, DEFAULT, direction, html_lang
from waitboard.core.office import Office
from waitboard.i18n import LANGUAGES, STAFF_LANGUAGES, Translator, negotiate, pick_language
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


def when_marked(iso: str | None, t: Translator) -> Markup:
    """:func:`when` for a page of its own: the time a left-to-right island (``<bdi>``), so
    that "10:20" stays whole and in order inside a right-to-left sentence. (The date keeps
    its locale's own marks: CLDR writes an Arabic date to be read right to left.)"""
    if not iso:
        return Markup("")
    moment = datetime.fromisoformat(iso)
    return escape(t("{day} {date}, {time} Uhr")).format(
        day=t.weekday(moment.weekday()),
        date=t.day(moment.date()),
        time=Markup('<bdi dir="ltr">{}</bdi>').format(t.clock(moment)),
    )


_env.filters["hhmm"] = hhmm
_env.filters["when_marked"] = when_marked
_env.filters["when"] = when
# A one-time key for a form that changes something: it becomes the Idempotency-Key, so
# submitting the same rendered form twice acts once.
_env.globals["new_key"] = lambda: secrets.token_urlsafe(12)


#: Pages that do not follow the browser's language: a kiosk starts in the office's own
#: (the person chooses), a lobby screen speaks to a whole room.
_NOT_NEGOTIATED = ("/terminal/", "/screens/", "/staff")


def offered(request: Request) -> tuple[str, ...]:
    """The languages of this page: the staff pages speak German and English."""
    return STAFF_LANGUAGES if request.url.path.startswith("/staff") else LANGUAGES


def language(request: Request) -> str:
    """``?lang=`` where it names an offered language; else, on the public web, the first
    offered language of the browser's ``Accept-Language``; else German."""
    choice = offered(request)
    asked = request.query_params.get("lang")
    if asked in choice:
        return str(asked)
    if not request.url.path.startswith(_NOT_NEGOTIATED):
        negotiated = negotiate(request.headers.get("accept-language"), choice)
        if negotiated:
            return negotiated
    return pick_language(None)


def language_url(request: Request, lang: str) -> str:
    """This page in ``lang``, always a path of this site (never "//other.host"). After a
    form (a POST): the page of the same address, where there is one - the form, without
    what was posted (the status lookup, a booking) - else the start page."""
    if request.method != "GET":
        if _has_page(request):
            return "/" + request.url.path.lstrip("/") + f"?lang={lang}"
        return f"/?lang={lang}"
    params = dict(request.query_params)
    params["lang"] = lang
    return "/" + request.url.path.lstrip("/") + "?" + urlencode(params)


def language_menu(request: Request, lang: str) -> list[dict[str, str]]:
    """Every offered language, named in itself, with this page's address in it."""
    return [
        {
            "code": code,
            "name": AUTONYMS[code],
            "html_lang": html_lang(code),
            "dir": direction(code),
            "url": language_url(request, code),
            "current": "page" if code == lang else "",
        }
        for code in offered(request)
    ]


def this_page_url(request: Request) -> str | None:
    """Where to try this request again, always a path of this site: a page as it was
    asked for; after a form, the page of the same address (the form, in the same
    language), where there is one; else None."""
    path = "/" + request.url.path.lstrip("/")
    if request.method == "GET":
        return path + (f"?{request.url.query}" if request.url.query else "")
    if _has_page(request):
        return link_for(request, path)
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


def with_lang(path: str, lang: str, *, explicit: bool = False) -> str:
    """A link that keeps the page's language (German, the default, only when it was chosen
    explicitly: a browser that asks for another language would otherwise get that one)."""
    if lang == DEFAULT and not explicit:
        return path
    return f"{path}{'&' if '?' in path else '?'}lang={lang}"


def link_for(request: Request, path: str) -> str:
    """A link or redirect from this request that keeps its language - German too, when the
    reader chose it over what the browser asks for (their ``?lang=de`` came along)."""
    return with_lang(path, language(request), explicit="lang" in request.query_params)


def language_of(request: Request, own: str | None) -> str:
    """The language of a page about something made in a language of its own (a booking):
    the reader's choice by ``?lang=`` first, then that language, then as any page."""
    choice = offered(request)
    if request.query_params.get("lang") in choice or own not in choice:
        return language(request)
    return str(own)


def office_names(office: Office, lang: str) -> dict[str, str]:
    """The office's names that differ in ``lang``, by their German name: what a snapshot
    (German and English only) shows in this language, here and in live.js."""
    names: dict[str, str] = {}
    if lang == "en":
        return names  # (a snapshot carries the English names itself)
    for loc in office.locations:
        for thing in (loc, *loc.queues, *loc.counters, *loc.zones):
            own = thing.name_in(lang)
            if own and own != thing.name:
                names.setdefault(thing.name, own)
    return names


def render(
    request: Request,
    template: str,
    status: int = 200,
    *,
    staff: bool = False,
    language_switch: bool = True,
    lang: str | None = None,
    **values: Any,
) -> Response:
    """``staff``: the page may use the session (CSRF token, flash). Public pages never
    touch it, so the public gets no cookie at all. ``language_switch=False``: no link to
    the other language, for a page shown once (a new PIN) that the link would lose.
    ``lang``: the page's language where the thing shown has its own (a booking's); links
    then keep it."""
    ctx = context(request)
    explicit = lang is not None or "lang" in request.query_params
    lang = lang or language(request)
    t = Translator(lang, names=office_names(ctx.office, lang))
    html = _env.get_template(template).render(
        t=t,
        lang=lang,
        ngettext=t.ngettext,
        pgettext=t.pgettext,
        texts={**t.js_texts(), "names": t.names},
        demo=ctx.settings.demo,
        request=request,
        tz=ctx.office.timezone,
        html_lang=html_lang(lang),
        dir=direction(lang),
        languages=language_menu(request, lang) if language_switch else None,
        # (A language chosen against the browser's keeps its choice in every link.)
        link=lambda path: with_lang(path, lang, explicit=explicit),
        csrf=sessions.csrf_token(request) if staff else "",
        flash=sessions.take_flash(request) if staff else None,
        # The signed-in person's name from the staff directory (set by sessions.current_actor).
        staff_name=getattr(request.state, "staff_name", None) if staff else None,
        **values,
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
