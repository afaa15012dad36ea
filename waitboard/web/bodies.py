"""Reading request bodies: size-limited, JSON only, validated against a model.

Every failure is a :class:`~waitboard.core.errors.WaitboardError` that says what to change.
"""

from __future__ import annotations

import hashlib
from typing import TypeVar
from urllib.parse import parse_qs

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from waitboard.core.errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType
from waitboard.core.office import Device
from waitboard.store import keys
from waitboard.store.tickets import Idempotency

MAX_BODY_BYTES = 16 * 1024
M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"The body has {declared} bytes; at most {MAX_BODY_BYTES} are accepted."
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def parse(request: Request, model: type[M]) -> M:
    """The body as ``model``. No body at all counts as ``{}`` (whitespace is not JSON)."""
    raw = await read_body(request)
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
    return fingerprint_of(
        method, path, orjson.dumps(body.model_dump(), option=orjson.OPT_SORT_KEYS)
    )


def fingerprint_of(method: str, path: str, canonical: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


async def read_form(request: Request) -> dict[str, str]:
    """A URL-encoded form (what the staff pages post), size-limited like every body."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("Send the form as application/x-www-form-urlencoded.")
    raw = (await read_body(request)).decode("utf-8", errors="replace")
    return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def form_request(path: str, form: dict[str, str]) -> tuple[str, str] | None:
    """A staff form's one-time ``key`` and the fingerprint of what the form asks, or None
    for a form without a (sane) key."""
    key = form.get("key", "")
    if not key or len(key) > 100:
        return None
    fields = {k: v for k, v in form.items() if k not in ("csrf", "key", "back")}
    return key, fingerprint_of("POST", path, orjson.dumps(fields, option=orjson.OPT_SORT_KEYS))


def form_idempotency(
    device: Device, location: str, path: str, form: dict[str, str]
) -> Idempotency | None:
    """A staff form's one-time ``key`` as its Idempotency-Key: submitting the same rendered
    form twice (a double click) acts once. The fingerprint covers what the form asks."""
    found = form_request(path, form)
    if found is None:
        return None
    key, fingerprint = found
    return Idempotency(keys.idempotency(location, device.id, "form:" + key), fingerprint)
