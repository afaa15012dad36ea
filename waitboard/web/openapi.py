"""The OpenAPI 3.1 document of API v1, generated from the endpoint tables of the modules.

Built from the same table as the routes, with the shapes of :mod:`waitboard.web.schemas`, so
the document describes what the server does; the tests check answers against it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from waitboard import __version__
from waitboard.web import api, schemas
from waitboard.web import applications as application_api
from waitboard.web import appointments as appointment_api
from waitboard.web import push as push_api
from waitboard.web.api import Endpoint

#: Every endpoint of API v1: the tickets' own and those of the other parts of the service.
ENDPOINTS: tuple[Endpoint, ...] = (
    *api.ENDPOINTS,
    *appointment_api.ENDPOINTS,
    *application_api.ENDPOINTS,
    *push_api.ENDPOINTS,
)

_REF = "#/components/schemas/{model}"

_ERROR_TEXT = {
    400: "Bad request.",
    401: "Missing or unknown device token.",
    403: "The device's role, location or counter does not allow this.",
    404: "Unknown location, counter, ticket or booking code.",
    409: "Not possible in the current state (closed, ticket stop, transition not allowed, "
    "slot fully booked), or a public Idempotency-Key in use by another client.",
    413: "Body larger than 16 KiB.",
    415: "Body is not JSON.",
    422: "Malformed JSON, wrong types, unknown queue or a reused Idempotency-Key.",
    429: "Too many requests from this address; try again after Retry-After seconds.",
    503: "Redis unreachable; try again shortly (Retry-After).",
}


#: Whom an Idempotency-Key belongs to (the public one's: services.limits.address_binding).
_DEVICE_KEY = (
    "A key belongs to the device whose token sends it: the same text from another device "
    "is another key."
)
_PUBLIC_KEY = (
    "A key belongs to the client that used it first, by its address as the rate limits "
    "count it: an IPv4 address, an IPv6 client by its /64 network, behind the operator's "
    "reverse proxy the address it forwards. A retry from that address finds the first "
    "answer; the same key from another address gets 409 idempotency_key_in_use and never "
    "the first answer (a booking's code is as secret as the key that returns it). Use a "
    "fresh random key (a UUID) for each booking, and retry from the same network."
)


@cache
def document() -> dict[str, Any]:
    models: set[type[BaseModel]] = {schemas.Problem}
    for e in ENDPOINTS:
        if e.body:
            models.add(e.body)
        models.update(m for m in e.answers.values() if m)
    _, defs = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)], ref_template=_REF
    )
    paths: dict[str, dict[str, Any]] = {}
    for e in ENDPOINTS:
        op: dict[str, Any] = {
            "operationId": e.handler.__name__,
            "summary": e.summary,
            "tags": [e.tag],
            "parameters": [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in re.findall(r"{(\w+)}", e.path)
            ],
            "responses": {},
        }
        op["parameters"] += [
            {"name": name, "in": "query", "required": False, "description": text, "schema": schema}
            for name, text, schema in e.query
        ]
        if e.roles:
            op["security"] = [{"device": []}]
            op["description"] = "Roles: " + ", ".join(e.roles) + "."
        if (e.roles or e.idempotent) and e.method == "POST":
            op["parameters"].append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "1-255 characters. The same key with the same body returns "
                    "the first answer again and changes nothing; with another "
                    "body: 422. " + (_DEVICE_KEY if e.roles else _PUBLIC_KEY),
                    "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"},
                }
            )
        if e.body:
            op["requestBody"] = {
                "required": e.body is not schemas.EmptyRequest,
                "content": {
                    "application/json": {"schema": {"$ref": _REF.format(model=e.body.__name__)}}
                },
            }
        for status, model in e.answers.items():
            op["responses"][str(status)] = (
                {"description": "No content."}
                if model is None
                else {
                    "description": model.__doc__ or model.__name__,
                    "content": {
                        "application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}},
                        **(
                            {"text/csv": {"schema": {"type": "string"}}}
                            if e.csv and status == 200
                            else {}
                        ),
                    },
                }
            )
        for status in sorted({*e.errors, 429}):
            op["responses"][str(status)] = {
                "description": _ERROR_TEXT[status],
                "content": {
                    "application/problem+json": {"schema": {"$ref": _REF.format(model="Problem")}}
                },
            }
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "waitboard API",
            "version": f"1 ({__version__})",
            "description": "Tickets, counters and live waiting times of a public "
            "office. Errors are application/problem+json (RFC 9457).",
        },
        "paths": paths,
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {
                "device": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A device token from the office configuration.",
                }
            },
        },
    }
