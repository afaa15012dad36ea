"""API fuzzing: schemathesis derives requests from the app's own OpenAPI document and sends
them to the app in-process (ASGI, lifespan running, real Redis). Every answer must be
documented for its operation (status, media type, body schema), never a 5xx, and every 4xx
an RFC 9457 problem."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from redis import Redis
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import FAST, auth, settings_for
from waitboard.app import create_app
from waitboard.config import Office
from waitboard.embedded_redis import EmbeddedRedis
from waitboard.openapi import document

#: Examples per operation in the random phase; with the coverage phase's boundary cases the
#: whole file stays well under a minute.
MAX_EXAMPLES = 30


def problem_for_errors(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                       case: schemathesis.Case) -> bool | None:
    """Every 4xx is application/problem+json with the RFC 9457 members filled in."""
    if response.status_code < 400:
        return None
    media = response.headers.get("content-type", [""])[0]
    assert media == "application/problem+json", (
        f"{response.status_code} came as {media!r}, not application/problem+json")
    body = response.json()
    assert body["status"] == response.status_code, body
    assert body["title"] and body["detail"] and body["code"], body
    assert "Traceback" not in response.text
    return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection, problem_for_errors]


#: Stand-ins for ticket ids in the generated path, swapped for the real ids of tickets the
#: fixture prepares (the schema is built at collection, the tickets per test).
TICKETS = ("@waiting", "@called", "@serving", "@nord")


def _schema(auth_token: str | None) -> Any:
    """Deterministic and bounded; path and body values come from the test office often
    enough that requests get past 404/422 into the handlers, and are fuzzed otherwise."""
    config: dict[str, Any] = {
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True,
                       "database": "none"},
        "dictionaries": {
            "locations": {"values": ["sued", "nord"]},
            "counters": {"values": ["1", "2"]},
            "queues": {"values": ["A", "B"]},
            "zones": {"values": ["wartebereich"]},
            "tickets": {"values": list(TICKETS)},
        },
        "parameters": {
            "path.location": {"dictionary": "locations", "probability": 0.7},
            "path.counter": {"dictionary": "counters", "probability": 0.7},
            "path.ticket_id": {"dictionary": "tickets", "probability": 0.7},
            "body.queue": {"dictionary": "queues", "probability": 0.7},
            "body.zone": {"dictionary": "zones", "probability": 0.7},
        },
    }
    if auth_token:
        config["auth"] = {"openapi": {"device": {"bearer": auth_token}}}
    # A copy: the loader may annotate the document, which the app serves as it is.
    return schemathesis.openapi.from_dict(copy.deepcopy(document()),
                                          config=schemathesis.Config.from_dict(config))


@dataclass
class Target:
    app: Any
    tickets: dict[str, str]

    def send(self, case: schemathesis.Case) -> schemathesis.Response:
        ticket = case.path_parameters.get("ticket_id") if case.path_parameters else None
        if ticket in self.tickets:
            case.path_parameters["ticket_id"] = self.tickets[ticket]
        return case.call_and_validate(app=self.app, checks=CHECKS)


@pytest.fixture
def target(redis_server: EmbeddedRedis, office: Office) -> Iterator[Target]:
    """The app with its lifespan running, and tickets in every state the commands act on."""
    with Redis.from_url(redis_server.url) as r:
        r.flushall()
    app = create_app(settings_for(redis_server.url), office=office, timing=FAST)
    with asgi.get_client(app) as http:
        def post(path: str, json: Any = None) -> dict[str, Any]:
            r = http.post(path, json=json, headers=auth("admin"))
            assert r.status_code in (200, 201), r.text
            return dict(r.json())

        issued = [post(f"/api/v1/locations/{loc}/tickets", {"queue": q})["id"]
                  for loc, q in (("sued", "A"), ("sued", "A"), ("sued", "B"), ("nord", "A"))]
        for counter in ("1", "2"):
            post(f"/api/v1/locations/sued/counters/{counter}/open")
        post("/api/v1/locations/sued/counters/1/call-next")  # A001 called
        post("/api/v1/locations/sued/counters/2/call-next")  # B001 called ...
        post(f"/api/v1/tickets/{issued[2]}/start")  # ... and serving
    tickets = dict(zip(("@called", "@waiting", "@serving", "@nord"), issued, strict=True))
    try:
        yield Target(app, tickets)
    finally:
        asgi.shutdown_lifespans()


admin = _schema("test-admin")
anonymous = _schema(None).include(tag=["commands", "statistics", "sensors"])


@admin.parametrize()
def test_fuzz_as_admin(case: schemathesis.Case, target: Target) -> None:
    """With the admin token every operation answers only documented, schema-true answers."""
    target.send(case)


@anonymous.parametrize()
def test_fuzz_without_token(case: schemathesis.Case, target: Target) -> None:
    """Without a token every protected operation answers a documented 401 problem."""
    response = target.send(case)
    assert response.status_code == 401, response.text
