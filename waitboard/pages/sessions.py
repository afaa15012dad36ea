"""Staff sessions: the device token once at login, then a signed cookie; CSRF on every form;
and people signed in through the office's identity provider.

The session lives in Starlette's signed cookie (``WAITBOARD_SECRET_KEY``, HttpOnly,
SameSite=Strict, limited lifetime, Secure in production). It holds a random session id,
the device id, a short fingerprint of the device's token hash and a CSRF token - never the
token itself. Every request checks the device against the configuration again (removing a
device or rotating its token ends its sessions at once) and the session id against the
logouts kept in Redis (a copy of the cookie is worthless after logging out). Redis keeps
only a digest of a logged-out session's id, never a value of the cookie.

A person signed in through the office's OpenID Connect provider (``pages/sign_in.py``) has
a session in Redis (``services/staff_sign_in.py``); the cookie holds only its random id
(``person``), beside a device's login where the browser is one (a counter PC): the person
then acts at the workplace they chose, on that device, and records name both.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Any

from starlette.requests import HTTPConnection, Request

from waitboard.context import context
from waitboard.core.errors import (
    CsrfFailed,
    LoginRequired,
    SignInEnded,
    Unavailable,
    WorkplaceRequired,
)
from waitboard.core.office import Device
from waitboard.core.staff import Actor, SignedInPerson
from waitboard.services.auth import require
from waitboard.services.oidc import ProviderError
from waitboard.services.person_sessions import PersonSession, digest
from waitboard.services.staff_sign_in import SessionEnded

COOKIE = "waitboard_session"
#: A person's session lasts a working day; an unattended kiosk (terminal, lobby display)
#: stays logged in for a month. The cookie itself lives as long as the longest.
MAX_AGE_S = {"terminal": 30 * 86400, "display": 30 * 86400}
STAFF_MAX_AGE_S = 12 * 3600
COOKIE_MAX_AGE_S = max(MAX_AGE_S.values())
CSRF_FIELD = "csrf"
#: The cookie's key for a signed-in person's session id.
PERSON = "person"


def home_of(device: Actor) -> str:
    """Where a device goes after logging in, or a person after choosing a workplace."""
    loc = device.location
    if device.role == "caseworker":
        return "/staff/applications"
    if device.role == "admin" or loc is None:
        return "/staff"
    return {
        "reception": f"/staff/{loc}/reception",
        "counter": f"/staff/{loc}/counters/{device.counters[0]}" if device.counters else "/",
        "terminal": f"/terminal/{loc}",
        "display": f"/screens/{loc}",
    }.get(device.role, "/")


def _fingerprint(device: Device) -> str:
    return device.token_sha256[:16]


def _revocation_id(session_id: str) -> str:
    """How Redis names a logged-out session: a digest of its id (the id is in the cookie)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def login(request: Request, device: Device) -> None:
    request.session.clear()  # a new session for a new login (no fixation)
    request.session.update(
        {
            "sid": secrets.token_urlsafe(16),
            "device": device.id,
            "fp": _fingerprint(device),
            CSRF_FIELD: secrets.token_urlsafe(32),
            "at": int(time.time()),
        }
    )


async def logout(request: Request) -> None:
    session_id = request.session.get("sid")
    if session_id:
        await context(request).store.revoke_session(
            _revocation_id(str(session_id)), COOKIE_MAX_AGE_S
        )
    request.session.clear()


async def current_device(conn: HTTPConnection) -> Device | None:
    session = conn.session
    device = context(conn).devices.by_id.get(session.get("device", ""))
    if device is None or not hmac.compare_digest(session.get("fp", ""), _fingerprint(device)):
        return None
    if time.time() - int(session.get("at", 0)) > MAX_AGE_S.get(device.role, STAFF_MAX_AGE_S):
        return None
    session_id = str(session.get("sid") or "")
    if not session_id or await context(conn).store.session_revoked(_revocation_id(session_id)):
        return None
    return device


async def person_session(conn: HTTPConnection) -> PersonSession | None:
    """The signed-in person's session (asked again of the provider when it is time); None
    without one. A session that ends here leaves the cookie, and SignInEnded says why."""
    sign_in = context(conn).sign_in
    sid = conn.session.get(PERSON)
    if not sid or sign_in is None:
        return None
    try:
        found = await sign_in.session(str(sid))
    except SessionEnded as e:
        conn.session.pop(PERSON, None)
        raise SignInEnded("Your sign-in has ended; sign in again.", reason=e.reason) from None
    except ProviderError as e:
        raise Unavailable(
            "The sign-in service cannot be reached just now; try again in a moment."
        ) from e
    if found is None:
        conn.session.pop(PERSON, None)
    return found


async def current_actor(conn: HTTPConnection) -> Actor | None:
    """Who acts in this browser: a signed-in person at the workplace they chose (on the
    logged-in device, if any), else the logged-in device, else nobody. WorkplaceRequired
    when the person has yet to choose."""
    device = await current_device(conn)
    found = await person_session(conn)
    if found is None:
        return device
    if found.chosen is None:
        raise WorkplaceRequired("Choose where you work first.")
    names = await context(conn).store.person_names([found.person])
    conn.state.staff_name = names.get(found.person)
    return SignedInPerson(found.person, found.chosen, device.id if device else None)


async def require_staff(
    request: Request,
    roles: tuple[str, ...],
    *,
    location: str | None = None,
    counter: str | None = None,
) -> Actor:
    """The signed-in person or logged-in device, allowed here; LoginRequired sends the
    browser to the login."""
    actor = await current_actor(request)
    if actor is None:
        raise LoginRequired("Please log in with the device's token.")
    require(actor, roles, location=location, counter=counter)
    return actor


async def has_person_session(conn: HTTPConnection) -> bool:
    """Whether the cookie names a person's session that exists (no re-check: for the rate
    limits, which only need to know that this is staff)."""
    sid = conn.session.get(PERSON)
    if not sid or context(conn).sign_in is None:
        return False
    return await context(conn).store.staff_session(digest(str(sid))) is not None


def csrf_token(request: Request) -> str:
    """This session's CSRF token (one is made for visitors of the login page, too)."""
    token: str | None = request.session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


def check_csrf(request: Request, form: Mapping[str, str]) -> None:
    expected = request.session.get(CSRF_FIELD, "")
    sent = form.get(CSRF_FIELD, "")
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise CsrfFailed(
            "The form has expired or did not come from this site; reload the page and try again."
        )


#: What a field kept for correcting may hold (the session is a cookie).
FLASH_VALUE_MAX = 300


def flash(
    request: Request, kind: str, text: str, field: str | None = None, value: str | None = None
) -> None:
    """A message for the next page this browser sees (after a redirect); ``field``: the
    form field it is about, for the page to show it there, and ``value`` what was typed
    into it, for the page to keep it for correcting (one wrong letter of a code should
    not mean typing all of it again)."""
    message = {"kind": kind, "text": text}
    if field:
        message["field"] = field
        if value:
            message["value"] = value[:FLASH_VALUE_MAX]
    request.session["flash"] = message


def take_flash(request: Request) -> dict[str, Any] | None:
    message: dict[str, Any] | None = request.session.pop("flash", None)
    return message
