"""Application status: the citizen's lookup and the caseworkers' pages and API."""

from __future__ import annotations

from starlette.routing import Route

from waitboard.api import Endpoint

ENDPOINTS: tuple[Endpoint, ...] = ()


def routes() -> list[Route]:
    return [Route(e.path, e.handler, methods=[e.method]) for e in ENDPOINTS]
