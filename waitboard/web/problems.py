"""Errors -> RFC 9457 ``application/problem+json`` answers, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from waitboard.core.errors import LoginRequired, WaitboardError
from waitboard.i18n import Translator
from waitboard.pages import staff
from waitboard.pages.render import language, render, this_page_url

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

_HTTP_DETAIL = {
    404: (
        "not_found",
        "There is nothing at this address. The API is described at /api/v1/openapi.json.",
    ),
    405: ("method_not_allowed", "This address does not accept this method."),
}


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    # Extension members first: the standard members always win.
    body = {
        **(extra or {}),
        "type": f"urn:waitboard:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def from_error(err: WaitboardError, instance: str | None = None) -> Response:
    headers = {}
    if err.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="waitboard"'
    if err.status == 503:
        headers["Retry-After"] = "2"
    return problem(err.status, err.code, err.title, err.detail, instance, headers, err.extra)


def wants_html(request: Request) -> bool:
    """Pages answer errors as pages; the API (and anything asking for JSON) as problems."""
    path = request.url.path
    if path.startswith(("/api/", "/livez", "/readyz", "/metrics", "/static/")):
        return False
    return "text/html" in request.headers.get("accept", "") or request.method == "POST"


async def on_waitboard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WaitboardError)
    if wants_html(request):
        if isinstance(exc, LoginRequired):
            return staff.login_redirect(request)
        return error_page(request, exc.status, Translator(language(request)).error(exc))
    return from_error(exc, request.url.path)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code, detail = _HTTP_DETAIL.get(exc.status_code, ("http_error", str(exc.detail)))
    if wants_html(request):
        t = Translator(language(request))
        key = "error.not_found" if exc.status_code == 404 else "error.generic"
        return error_page(request, exc.status_code, t(key))
    return problem(
        exc.status_code, code, str(exc.detail), detail, request.url.path, dict(exc.headers or {})
    )


async def internal_error(request: Request) -> Response:
    """The answer to an unexpected error (logged by the caller): never a stack trace."""
    if wants_html(request):
        try:
            return error_page(request, 500, Translator(language(request))("error.internal"))
        except Exception:  # noqa: S110 - rendering itself failed: fall back to the problem
            pass
    return problem(
        500,
        "internal_error",
        "Internal error",
        "Something went wrong on our side and was logged. Please try again; if "
        "it keeps happening, tell the administrator.",
        request.url.path,
    )


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
    elif parts[1:2] == ["staff"]:
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


def rate_limited(request: Request, retry_after_s: int) -> Response:
    """429 with ``Retry-After``: for a browser, a page in its reader's language that says
    when to try again and leads back (to the page asked for, or the form sent, and to the
    start); for the API, problem+json."""
    headers = {"Retry-After": str(retry_after_s)}
    if not wants_html(request):
        return problem(
            429,
            "rate_limited",
            "Too many requests",
            f"Too many requests from your address; try again in {retry_after_s} s.",
            request.url.path,
            headers,
        )
    t = Translator(language(request))
    minutes = -(-retry_after_s // 60)
    when = (
        t.plural("error.rate_limited.seconds", retry_after_s)
        if retry_after_s < 60
        else t.plural("error.rate_limited.minutes", minutes)
    )
    response = error_page(
        request,
        429,
        t("error.rate_limited", when=when),
        title=t("error.rate_limited.title"),
        again=this_page_url(request),
        # A page asked for comes back by itself (a lobby screen, too); a form is never
        # sent again without the person.
        again_after_s=retry_after_s if request.method == "GET" else None,
    )
    response.headers.update(headers)
    return response
