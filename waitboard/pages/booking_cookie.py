"""The booking form's cookie: whom a public booking's Idempotency-Key belongs to.

A booking's code is derived from its Idempotency-Key, so that a retry finds its booking
again without the code being stored. Keys are chosen by clients, and some choose "1": the
key is therefore bound to the client that used it first (:func:`waitboard.services.bookings.book`
keeps a keyed digest of the binding, never the binding itself), and the same key from
anyone else gets 409 instead of the booking and its code.

* The booking pages bind it to a cookie: ``waitboard_booking``, a random id and nothing
  else (no personal data, no session, no tracking), first-party, HttpOnly, SameSite=Lax,
  Secure in production, sent only to the location's booking pages, and kept one day (the
  idempotency window) from the last time the booking form was shown. A phone that changes
  from the office's WiFi to its mobile network between pressing "Termin buchen" and the
  retry thus still gets its own booking. A browser that refuses the cookie is bound by
  its address instead.
* The API binds it to the client's address as the rate limits count it
  (:func:`waitboard.services.limits.address_binding`: an IPv4 address, an IPv6 client by its /64
  network, behind a trusted proxy the address it forwards).

Without a known address a key binds to nothing another request could match: such a retry
gets 409 rather than risk handing a booking to a stranger.
"""

from __future__ import annotations

import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

from waitboard.context import context
from waitboard.services.limits import address_binding
from waitboard.store.scripts import IDEMPOTENCY_TTL_S

COOKIE = "waitboard_booking"
#: The cookie lives as long as a retry can find its answer: the idempotency window.
MAX_AGE_S = IDEMPOTENCY_TTL_S
#: What this service puts into the cookie (``secrets.token_urlsafe(18)``); anything else
#: is not taken for an id.
_ID = re.compile(r"[A-Za-z0-9_-]{24}")


def _cookie_id(request: Request) -> str | None:
    value = request.cookies.get(COOKIE, "")
    return value if _ID.fullmatch(value) else None


def of_page(request: Request) -> str:
    """The booking pages' binding: the client cookie's id, else the client's address."""
    found = _cookie_id(request)
    return (
        f"cookie:{found}"
        if found
        else address_binding(request.client.host if request.client else None)
    )


def path(location: str) -> str:
    """Where the cookie is sent: the location's booking form and nothing else."""
    return f"/locations/{location}/appointments"


def remember(request: Request, response: Response, location: str) -> Response:
    """``response`` (a page that shows the booking form) with the cookie set, or renewed
    with the same id, so that the form's key is bound to this browser when it is sent."""
    response.set_cookie(
        COOKIE,
        _cookie_id(request) or secrets.token_urlsafe(18),
        max_age=MAX_AGE_S,
        path=path(location),
        secure=context(request).settings.env == "production",
        httponly=True,
        samesite="lax",
    )
    return response
