"""Reading the API's request bodies: JSON only, validated against a model.

Every failure is a :class:`~waitboard.core.errors.WaitboardError` that says what to change.
"""

from __future__ import annotations

from typing import TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from waitboard.core.errors import Unprocessable, UnsupportedMediaType
from waitboard.store.idempotency import Idempotency

M = TypeVar("M", bound=BaseModel)


async def parse(request: Request, model: type[M]) -> M:
    """The body as ``model``. No body at all counts as ``{}`` (whitespace is not JSON)."""
    raw = await request.body()  # (its size limited by middleware.BodyLimit)
    if raw:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise UnsupportedMediaType(
                f"Send the body as JSON with 'Content-Type: application/json' "
                f"(got {media or 'no Content-Type'})."
            )
    else:
        raw = b"{}"
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise Unprocessable(f"The body is not valid JSON: {e}.") from None
    if not isinstance(data, dict):
        raise Unprocessable(f"The body must be a JSON object, not {type(data).__name__}.")
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as e:
        raise Unprocessable(
            _describe(e),
            errors=[
                {"field": ".".join(str(p) for p in err["loc"]), "message": _message(err)}
                for err in e.errors()
            ],
        ) from None


def _message(err: object) -> str:
    assert isinstance(err, dict)
    if err["type"] == "extra_forbidden":
        return "unknown field"
    if err["type"] == "missing":
        return "required"
    return str(err["msg"])


def _describe(e: ValidationError) -> str:
    parts = [f"'{'.'.join(str(p) for p in err['loc'])}': {_message(err)}" for err in e.errors()]
    return "The body does not fit: " + "; ".join(parts) + "."


def fingerprint(method: str, path: str, body: BaseModel) -> str:
    """Identifies a request for Idempotency-Key reuse: same meaning, same fingerprint."""
    return Idempotency.fingerprint_of(
        method, path, orjson.dumps(body.model_dump(), option=orjson.OPT_SORT_KEYS)
    )
