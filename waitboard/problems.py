"""Errors -> RFC 9457 ``application/problem+json`` answers, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from waitboard import staff
from waitboard.errors import LoginRequired, WaitboardError
from waitboard.i18n import Translator
from waitboard.render import language, render

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

_HTTP_DETAIL = {
    404: ("not_found", "There is nothing at this address. The API is described at "
                       "/api/v1/openapi.json."),
    405: ("method_not_allowed", "This address does not accept this method."),
}


def problem(status: int, code: str, title: str, detail: str, instance: str | None = None,
            headers: dict[str, str] | None = None,
            extra: dict[str, Any] | None = None) -> Response:
    # Extension members first: the standard members always win.
    body = {**(extra or {}), "type": f"urn:waitboard:problem:{code}", "title": title,
            "status": status, "detail": detail, "code": code}
    if instance:
        body["instance"] = instance
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE,
                    headers={"Cache-Control": "no-store", **(headers or {})})


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
        return render(request, "error.html", status=exc.status,
                      message=Translator(language(request)).error(exc))
    return from_error(exc, request.url.path)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code, detail = _HTTP_DETAIL.get(exc.status_code, ("http_error", str(exc.detail)))
    if wants_html(request) and exc.status_code == 404:
        return render(request, "error.html", status=404,
                      message=Translator(language(request))("error.not_found"))
    return problem(exc.status_code, code, str(exc.detail), detail, request.url.path,
                   dict(exc.headers or {}))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # The route template, not the path: ticket ids in paths are capabilities.
    route = getattr(request.scope.get("route"), "path", "(unmatched)")
    log.exception("unexpected error", extra={"route": route})
    return problem(500, "internal_error", "Internal error",
                   "Something went wrong on our side and was logged. Please try again; if "
                   "it keeps happening, tell the administrator.", request.url.path)
