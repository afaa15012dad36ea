"""Errors -> RFC 9457 ``application/problem+json`` answers for the API, never a stack trace.

(A browser gets a page instead: :mod:`waitboard.pages.errors`; which of the two a request
gets is decided in :mod:`waitboard.middleware`.)"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.responses import Response

from waitboard.core.errors import WaitboardError
from waitboard.http_status import status_of

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
    status = status_of(err)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="waitboard"'
    if status == 503:
        headers["Retry-After"] = "2"
    return problem(status, err.code, err.title, err.detail, instance, headers, err.extra)


def from_http_exception(exc: HTTPException, instance: str) -> Response:
    code, detail = _HTTP_DETAIL.get(exc.status_code, ("http_error", str(exc.detail)))
    return problem(
        exc.status_code, code, str(exc.detail), detail, instance, dict(exc.headers or {})
    )


def internal_error(instance: str) -> Response:
    """The answer to an unexpected error (logged by the caller): never a stack trace."""
    return problem(
        500,
        "internal_error",
        "Internal error",
        "Something went wrong on our side and was logged. Please try again; if "
        "it keeps happening, tell the administrator.",
        instance,
    )


def rate_limited(retry_after_s: int, instance: str) -> Response:
    """429 with ``Retry-After``."""
    return problem(
        429,
        "rate_limited",
        "Too many requests",
        f"Too many requests from your address; try again in {retry_after_s} s.",
        instance,
        {"Retry-After": str(retry_after_s)},
    )
