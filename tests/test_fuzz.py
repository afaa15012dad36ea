"""API fuzzing: schemathesis derives requests from the app's own OpenAPI document and sends
them to the app in-process (ASGI, lifespan running, the embedded Redis). Every answer must
be one the document promises for the operation (status, media type, body schema), never a
5xx; invalid requests are refused, valid ones are not refused for their form; every 4xx is
an RFC 9457 problem."""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from redis import Redis
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import FAST, auth, office_with_appointments, settings_for
from waitboard.app import create_app
from waitboard.core.office import Office
from waitboard.core.outbound import IPAddress
from waitboard.services.limits import Limit, Limits
from waitboard.store.embedded import EmbeddedRedis
from waitboard.web.openapi import document

#: Random requests per operation, on top of the coverage phase's boundary and type cases
#: (about as many again). The whole file runs in well under a minute.
MAX_EXAMPLES = 30

#: Stand-ins for ticket ids in generated paths (URL-safe, so sent as they are), swapped for
#: the ids of the tickets the fixture prepares: the schema is built at collection time, the
#: tickets per test.
TICKETS = ("called-ticket", "waiting-ticket", "serving-ticket", "nord-ticket")

#: The fuzzer sends far more bad tokens than the failure limit allows: with it, all but the
#: first ten answers of an operation would be 429. The limits have tests of their own, and
#: one fuzz run below keeps them.
NO_LIMITS = Limits(public=Limit(0, 0), websocket=Limit(0, 0), failures=Limit(0, 0))

PROTECTED_TAGS = ["commands", "statistics", "sensors"]


# --- checks beyond schemathesis' own ---------------------------------------------------------


def problem_for_errors(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Every error answer is application/problem+json with the RFC 9457 members filled in."""
    if response.status_code < 400:
        return None
    media = response.headers.get("content-type", [""])[0]
    assert media == "application/problem+json", (
        f"{response.status_code} came as {media!r}, not application/problem+json"
    )
    if case.method.upper() == "HEAD":
        return None
    body = response.json()
    assert body["status"] == response.status_code, body
    assert body["title"] and body["detail"] and body["code"], body
    assert "Traceback" not in response.text
    return None


def valid_form_accepted(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A request the document calls well-formed is not refused for its form: no 422 that
    lists body errors or names a header. (An unknown queue or zone, a day that is not in
    the calendar, a reused Idempotency-Key are refusals of content, and fine.)"""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    body = response.json()
    header = str(body.get("field")).lower() in {name.lower() for name in case.headers or {}}
    assert "errors" not in body and not header, (
        f"a request the document calls valid was refused for its form: {body['detail']}"
    )
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    problem_for_errors,
    valid_form_accepted,
]


# --- the schema, as the app documents it -----------------------------------------------------


#: Valid values of the test office, added as ``examples`` (an annotation: the document's
#: constraints stay as they are). The coverage phase varies one parameter at a time around
#: them, so its boundary and type cases reach the handler instead of ending in a 404.
EXAMPLES = {
    "location": "sued",
    "counter": "1",
    "ticket_id": "waiting-ticket",
    "queue": "T",
    "code": "K7QM-4XPA",
    "subscription": "dGhlLXN1YnNjcmlwdGlvbg",
}
BODY_EXAMPLES = {
    "TicketRequest": {"queue": "A"},
    "TransferRequest": {"queue": "B"},
    "PauseRequest": {"reason": "break"},
    "OccupancyRequest": {"zone": "wartebereich", "count": 12},
    "BookingRequest": {"queue": "T", "start": "2026-12-07T09:00+01:00"},
    "MoveRequest": {"start": "2026-12-07T09:20+01:00"},
    "CheckInRequest": {"code": "K7QM-4XPA"},
    "PushSubscriptionRequest": {
        "endpoint": "https://push.example/send/abc",
        "keys": {
            "p256dh": "BCLdMeSPuIz6pJjEaiiQsfRYBCRlXYf6pjISkpD1vMQzrVV9EV"
            "eI4HmwwrNdRMa2gMUrVl2OoUxTN_3au36PFDo",
            "auth": "8eDyX_uCN0XRhSbY5hs7Hg",
        },
        "ahead": 3,
    },
}


async def no_names(host: str, port: int) -> list[IPAddress]:
    """Push endpoints the fuzzer makes up are never looked up: every name is taken to
    resolve to a documentation address, which the outbound policy refuses (422)."""
    return [ipaddress.ip_address("192.0.2.1")]


def with_examples(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``doc`` with :data:`EXAMPLES` and :data:`BODY_EXAMPLES` added."""
    doc = copy.deepcopy(doc)
    for operations in doc["paths"].values():
        for op in operations.values():
            for param in op["parameters"]:
                if param["in"] == "path":
                    param["schema"]["examples"] = [EXAMPLES[param["name"]]]
    for model, example in BODY_EXAMPLES.items():
        doc["components"]["schemas"][model]["examples"] = [example]
    return doc


def fuzz_schema(token: str | None, max_examples: int = MAX_EXAMPLES) -> Any:
    """Deterministic and bounded. Path and body values come from the test office often
    enough that requests get past 404/422 into the handlers, and are fuzzed otherwise."""
    config: dict[str, Any] = {
        "generation": {"max-examples": max_examples, "deterministic": True, "database": "none"},
        "dictionaries": {
            "locations": {"values": ["sued", "nord"]},
            "counters": {"values": ["1", "2"]},
            "queues": {"values": ["A", "B", "T"]},
            "zones": {"values": ["wartebereich"]},
            # A well-formed id of a ticket that does not exist, too.
            "tickets": {"values": [*TICKETS, "t_sued_AAAAAAAAAAAAAAAAAAAAAA"]},
        },
        "parameters": {
            "path.location": {"dictionary": "locations", "probability": 0.7},
            "path.counter": {"dictionary": "counters", "probability": 0.7},
            "path.ticket_id": {"dictionary": "tickets", "probability": 0.7},
            "body.queue": {"dictionary": "queues", "probability": 0.7},
            "body.zone": {"dictionary": "zones", "probability": 0.7},
        },
    }
    if token:
        config["auth"] = {"openapi": {"device": {"bearer": token}}}
    return schemathesis.openapi.from_dict(
        with_examples(document()), config=schemathesis.Config.from_dict(config)
    )


# --- the app ---------------------------------------------------------------------------------


@dataclass
class Target:
    app: Any
    tickets: dict[str, str]

    def send(self, case: schemathesis.Case) -> schemathesis.Response:
        """Send ``case`` to the app, fail on any check, return the answer."""
        ticket = (case.path_parameters or {}).get("ticket_id")
        if ticket in self.tickets:
            case.path_parameters["ticket_id"] = self.tickets[ticket]
        return case.call_and_validate(app=self.app, checks=CHECKS)


@contextlib.contextmanager
def serve(redis_server: EmbeddedRedis, office: Office, limits: Limits) -> Iterator[Target]:
    """The app with its lifespan running on a flushed Redis, both counters of 'sued' open,
    and a ticket in every state the ticket commands act on."""
    with Redis.from_url(redis_server.url) as r:
        r.flushall()
    app = create_app(
        settings_for(redis_server.url), office=office, timing=FAST, limits=limits, resolver=no_names
    )
    with asgi.get_client(app) as http:  # starts the lifespan, which outlives the client

        def post(path: str, json: Any = None) -> dict[str, Any]:
            r = http.post(path, json=json, headers=auth("admin"))
            assert r.status_code in (200, 201), r.text
            return dict(r.json())

        issued = [
            post(f"/api/v1/locations/{loc}/tickets", {"queue": q})["id"]
            for loc, q in (("sued", "A"), ("sued", "A"), ("sued", "B"), ("nord", "A"))
        ]
        for counter in ("1", "2"):
            post(f"/api/v1/locations/sued/counters/{counter}/open")
        post("/api/v1/locations/sued/counters/1/call-next")  # A001 called
        post("/api/v1/locations/sued/counters/2/call-next")  # B001 called ...
        post(f"/api/v1/tickets/{issued[2]}/start")  # ... and serving
    try:
        yield Target(app, dict(zip(TICKETS, issued, strict=True)))
    finally:
        asgi.shutdown_lifespans()


@pytest.fixture
def target(redis_server: EmbeddedRedis) -> Iterator[Target]:
    with serve(redis_server, office_with_appointments(), NO_LIMITS) as t:
        yield t


@pytest.fixture
def limited_target(redis_server: EmbeddedRedis) -> Iterator[Target]:
    with serve(redis_server, office_with_appointments(), Limits()) as t:
        yield t


# --- the fuzz runs ---------------------------------------------------------------------------

#: The fixtures are set up once per operation, not per generated request: the requests to
#: one operation meet the state the previous ones left, as on a real server.
ONE_APP_PER_OPERATION = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

as_admin = fuzz_schema("test-admin")
without_token = fuzz_schema(None).include(tag=PROTECTED_TAGS)
# The coverage phase alone spends the failure budget many times over.
guessing = fuzz_schema(None, max_examples=5).include(tag=PROTECTED_TAGS)


def expected_without_token(case: schemathesis.Case) -> int:
    """A protected operation asks for the token first; a method it does not have is 405."""
    return 401 if case.method.upper() == case.operation.method.upper() else 405


@as_admin.parametrize()
@ONE_APP_PER_OPERATION
def test_fuzz_as_admin(case: schemathesis.Case, target: Target) -> None:
    """With the admin token, every operation gives only documented answers, never a 5xx."""
    target.send(case)


@without_token.parametrize()
@ONE_APP_PER_OPERATION
def test_fuzz_without_token(case: schemathesis.Case, target: Target) -> None:
    """Without a valid token, every protected operation answers a documented 401 problem."""
    response = target.send(case)
    assert response.status_code == expected_without_token(case), response.text


@guessing.parametrize()
@ONE_APP_PER_OPERATION
def test_fuzz_token_guessing_under_production_limits(
    case: schemathesis.Case, limited_target: Target
) -> None:
    """Under the production rate limits a token guesser gets 401s, then documented 429s."""
    response = limited_target.send(case)
    assert response.status_code in (expected_without_token(case), 429), response.text


# --- what fuzzing found, pinned ----------------------------------------------------------------


@dataclass
class Pinned:
    """A request whose ``value`` (a query parameter, header or the body) the document and
    the server judged differently."""

    method: str
    path: str  # concrete, under ``template``
    template: str
    where: str  # "query", "header" or "body"
    name: str | None
    value: str
    body: str | None = None  # the body when ``value`` is elsewhere


PINNED = [
    pytest.param(
        Pinned(
            "GET",
            "/api/v1/locations/sued/stats?date=",
            "/api/v1/locations/{location}/stats",
            "query",
            "date",
            "",
        ),
        id="empty date",
    ),
    pytest.param(
        Pinned(
            "POST",
            "/api/v1/locations/sued/tickets",
            "/api/v1/locations/{location}/tickets",
            "header",
            "Idempotency-Key",
            "key with\tblanks",
            body='{"queue": "A"}',
        ),
        id="Idempotency-Key with blanks",
    ),
    pytest.param(
        Pinned(
            "POST",
            "/api/v1/locations/sued/occupancy",
            "/api/v1/locations/{location}/occupancy",
            "body",
            None,
            '{"zone": "wartebereich", "count": 12.0}',
        ),
        id="count 12.0",
    ),
    pytest.param(
        Pinned(
            "POST",
            "/api/v1/locations/sued/counters/1/open",
            "/api/v1/locations/{location}/counters/{counter}/open",
            "body",
            None,
            "\n",
        ),
        id="body of whitespace",
    ),
]


def document_allows(pinned: Pinned) -> bool:
    """Whether the OpenAPI document calls ``pinned.value`` valid where it is sent."""
    doc = document()
    op = doc["paths"][pinned.template][pinned.method.lower()]
    if pinned.where == "body":
        try:
            value: Any = json.loads(pinned.value)
        except ValueError:
            return False
        schema = op["requestBody"]["content"]["application/json"]["schema"]
    else:
        value = pinned.value
        schema = next(
            p["schema"]
            for p in op["parameters"]
            if p["in"] == pinned.where and p["name"] == pinned.name
        )
    return Draft202012Validator({**schema, "components": doc["components"]}).is_valid(value)


@pytest.mark.parametrize("pinned", PINNED)
def test_fuzz_finding_stays_fixed(pinned: Pinned, target: Target) -> None:
    """Each request fuzzing found is accepted exactly when the document calls it valid."""
    headers = auth("admin")
    body = pinned.value if pinned.where == "body" else pinned.body
    if body is not None:
        headers["Content-Type"] = "application/json"
    if pinned.where == "header":
        assert pinned.name is not None
        headers[pinned.name] = pinned.value
    with asgi.get_client(target.app) as http:
        r = http.request(pinned.method, pinned.path, data=body, headers=headers)
    accepted, allowed = r.status_code < 300, document_allows(pinned)
    assert accepted == allowed, (
        f"the document {'allows' if allowed else 'forbids'} "
        f"{pinned.where} {pinned.name or ''} {pinned.value!r}, the server answered "
        f"{r.status_code}: {r.text[:300]}"
    )
    if not accepted:
        assert r.headers["content-type"] == "application/problem+json", r.text
