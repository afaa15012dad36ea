"""The forms the pages post: URL-encoded, each with a one-time ``key``.

A form that creates something carries a one-time key, rendered into it; sent twice (a
double click, a retry after a lost answer) it acts once, because the key becomes the
command's Idempotency-Key, scoped to the device, with a fingerprint of what the form asks.
(Every body's size is limited before it is read: :class:`waitboard.middleware.BodyLimit`.)
"""

from __future__ import annotations

from urllib.parse import parse_qs

import orjson
from starlette.requests import Request

from waitboard.core.errors import UnsupportedMediaType
from waitboard.core.staff import Actor
from waitboard.store import keys
from waitboard.store.idempotency import Idempotency


async def read_form(request: Request) -> dict[str, str]:
    """A URL-encoded form (what the pages post); a field sent twice counts once, last."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("Send the form as application/x-www-form-urlencoded.")
    raw = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def form_request(path: str, form: dict[str, str]) -> tuple[str, str] | None:
    """A form's one-time ``key`` and the fingerprint of what the form asks, or None for a
    form without a (sane) key."""
    key = form.get("key", "")
    if not key or len(key) > 100:
        return None
    # (What only shapes the answer page - where to go back, the slip's language - is not
    # part of what the form asks for.)
    fields = {k: v for k, v in form.items() if k not in ("csrf", "key", "back", "slip_lang")}
    canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return key, Idempotency.fingerprint_of("POST", path, canonical)


def form_idempotency(
    device: Actor, location: str, path: str, form: dict[str, str]
) -> Idempotency | None:
    """A form's one-time ``key`` as its Idempotency-Key: submitting the same rendered form
    twice (a double click) acts once. The fingerprint covers what the form asks."""
    found = form_request(path, form)
    if found is None:
        return None
    key, fingerprint = found
    return Idempotency(keys.idempotency(location, device.id, "form:" + key), fingerprint)
