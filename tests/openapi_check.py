"""Check an HTTP answer against the OpenAPI document: documented status, media type, shape."""

from __future__ import annotations

from typing import Any

import httpx
from jsonschema import Draft202012Validator

from waitboard.web.openapi import document


def check(response: httpx.Response, method: str, template: str) -> Any:
    """Fail unless the answer is one the document promises for this operation."""
    doc = document()
    op = doc["paths"].get(template, {}).get(method.lower())
    assert op is not None, f"{method} {template} is not in the OpenAPI document"
    status = str(response.status_code)
    assert status in op["responses"], (
        f"{method} {template} answered {status}, which the document does not list "
        f"({', '.join(op['responses'])}): {response.text[:300]}"
    )
    spec = op["responses"][status]
    if "content" not in spec:
        assert not response.content, f"{status} should have no body"
        return None
    media = response.headers["content-type"].split(";")[0]
    assert media in spec["content"], f"{status} came as {media}, documented: {spec['content']}"
    body = response.json()
    schema = {**spec["content"][media]["schema"], "components": doc["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{method} {template} {status} does not match the document: {errors[0]}"
    return body
