"""Errors as pages, in the reader's language, with the way back.

A terminal's page returns to the terminal's start by itself, a staff page leads to the
staff start, any other to the public start. (The API answers problem+json instead:
:mod:`waitboard.web.problems`; :mod:`waitboard.middleware` decides which a request gets.)
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from waitboard.core.errors import LoginRequired, SignInEnded, WaitboardError, WorkplaceRequired
from waitboard.i18n import Translator
from waitboard.labels import ERRORS
from waitboard.pages.render import language, link_for, render, see_other, this_page_url


def from_error(request: Request, err: WaitboardError, status: int) -> Response:
    """The page for an error (the staff login for a page that needs one)."""
    if isinstance(err, WorkplaceRequired):
        target = request.url.path if request.method == "GET" else "/staff"
        return see_other(link_for(request, f"/staff/workplace?next={quote(target)}"))
    if isinstance(err, LoginRequired):
        return login_redirect(request)
    if isinstance(err, SignInEnded):
        return sign_in_problem(request, f"ended_{err.extra.get('reason', 'expired')}")
    return error_page(request, status, Translator(language(request)).error(err))


def login_redirect(request: Request) -> Response:
    """Where LoginRequired sends a browser: the login, then back here."""
    target = request.url.path if request.method == "GET" else "/staff"
    return see_other(link_for(request, f"/staff/login?next={quote(target)}"))


def from_http_exception(request: Request, exc: HTTPException) -> Response:
    t = Translator(language(request))
    missing = exc.status_code == 404
    message = t.message(ERRORS[("not_found", None)] if missing else ERRORS[("generic", None)])
    return error_page(request, exc.status_code, message)


def internal_error(request: Request) -> Response:
    t = Translator(language(request))
    return error_page(request, 500, t.message(ERRORS[("internal", None)]))


def error_page(
    request: Request,
    status: int,
    message: str,
    *,
    title: str | None = None,
    again: str | None = None,
    again_after_s: int | None = None,
) -> Response:
    """An error as a page. A terminal's page returns to the terminal's start by itself,
    a staff page leads to the staff start, any other to the public start page. ``again``:
    a link to try once more (first on the page), followed by itself after
    ``again_after_s``."""
    parts = request.url.path.split("/")
    if len(parts) > 2 and parts[1] == "terminal":
        back, retry = f"/terminal/{parts[2]}", True
    elif parts[1:2] in (["staff"], ["auth"]):
        back, retry = "/staff", False
    else:
        back, retry = "/", False
    return render(
        request,
        "error.html",
        status=status,
        message=message,
        title=title,
        back=back,
        retry=retry and not again,
        again=again,
        again_after_s=again_after_s,
    )


def sign_in_problem(request: Request, reason: str) -> Response:
    """Why a sign-in with the service account did not go through (or a session ended),
    and the way to try again: the reasons of ``services/staff_sign_in.py``."""
    t = Translator(language(request))
    again_text = t("Bitte melden Sie sich noch einmal an.")
    problems = {
        "no_group": (
            403,
            t("Kein Zugang zu waitboard"),
            t(
                "Sie sind beim Anmeldedienst angemeldet, aber Ihr Dienstkonto gehört zu keiner "
                "Gruppe, die in waitboard arbeiten darf. Wenn Sie Zugang brauchen, wenden Sie "
                "sich bitte an die IT Ihres Hauses."
            ),
        ),
        "denied": (
            403,
            t("Anmeldung abgebrochen"),
            t(
                "Die Anmeldung wurde beim Anmeldedienst abgebrochen oder abgelehnt. Sie können "
                "es noch einmal versuchen."
            ),
        ),
        "state": (
            400,
            t("Anmeldung nicht bestätigt"),
            t(
                "Diese Antwort des Anmeldedienstes gehört nicht zu einer Anmeldung, die in "
                "diesem Browser begonnen wurde."
            )
            + " "
            + again_text,
        ),
        "expired": (
            400,
            t("Anmeldung abgelaufen"),
            t("Die Anmeldung hat zu lange gedauert oder ist schon abgeschlossen.")
            + " "
            + again_text,
        ),
        "token": (
            401,
            t("Anmeldung nicht bestätigt"),
            t(
                "Der Anmeldedienst hat eine Bestätigung geschickt, die waitboard nicht annehmen "
                "kann. Geschieht das wieder, wenden Sie sich bitte an die IT Ihres Hauses."
            ),
        ),
        "provider": (
            502,
            t("Anmeldedienst nicht erreichbar"),
            t(
                "Der Anmeldedienst antwortet gerade nicht. Bitte versuchen Sie es gleich noch "
                "einmal."
            ),
        ),
        "ended_groups": (
            403,
            t("Zugang beendet"),
            t(
                "Ihre Gruppen beim Anmeldedienst erlauben Ihnen keinen Arbeitsplatz in waitboard "
                "mehr; Ihre Sitzung wurde beendet. Wenn das nicht stimmt, wenden Sie sich bitte "
                "an die IT Ihres Hauses."
            ),
        ),
        "ended_expired": (
            401,
            t("Anmeldung abgelaufen"),
            t("Der Anmeldedienst bestätigt Ihre Anmeldung nicht mehr.") + " " + again_text,
        ),
    }
    status, title, message = problems.get(reason, problems["expired"])
    # (No "try again" where the answer would be the same: the groups decide.)
    again = None if reason in ("no_group", "ended_groups") else "/staff/sign-in"
    return error_page(
        request, status, message, title=title, again=again and link_for(request, again)
    )


def rate_limited(request: Request, retry_after_s: int) -> Response:
    """429 with ``Retry-After``: a page in its reader's language that says when to try
    again and leads back (to the page asked for, or the form sent, and to the start)."""
    t = Translator(language(request))
    minutes = -(-retry_after_s // 60)
    when = (
        t.ngettext("1\u00a0Sekunde", "{n}\u00a0Sekunden", retry_after_s)
        if retry_after_s < 60
        else t.ngettext("1\u00a0Minute", "{n}\u00a0Minuten", minutes)
    )
    response = error_page(
        request,
        429,
        t(
            "Von Ihrer Internetverbindung kamen gerade zu viele Anfragen. Bitte versuchen Sie es "
            "in {when} noch einmal.",
            when=when,
        ),
        title=t("Bitte kurz warten"),
        again=this_page_url(request),
        # A page asked for comes back by itself (a lobby screen, too); a form is never
        # sent again without the person.
        again_after_s=retry_after_s if request.method == "GET" else None,
    )
    response.headers["Retry-After"] = str(retry_after_s)
    return response
