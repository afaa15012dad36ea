"""Application status, the citizen's page: ``/status`` (a form, the answer on the same
page), with the same lookup and limits as the API (:class:`waitboard.services.applications.
Applications`). The PIN comes in the body only, the page is never cached, and logs never
carry numbers or PINs."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from waitboard.context import context
from waitboard.core.application_fields import check_number
from waitboard.core.application_pins import LookupFailed, TooManyAttempts, normalise_pin
from waitboard.core.applications import public_answer
from waitboard.core.clock import from_ms
from waitboard.core.errors import WaitboardError
from waitboard.http_status import status_of
from waitboard.i18n import Translator
from waitboard.pages import forms
from waitboard.pages.render import language, render
from waitboard.services.limits import address_of


def date_text(t: Translator, ms: int, tz: Any) -> str:
    """A day in the page's language (the application's dates are days, not moments)."""
    return t.day(from_ms(ms, tz).date())


async def status_page(request: Request) -> Response:
    return render(request, "status.html", number="", errors={}, failure=None, result=None)


async def status_lookup(request: Request) -> Response:
    """The form's answer on the same page: the stage, or a message that says what to do.
    The PIN comes in the body only, and the page is never cached (render: no-store)."""
    ctx = context(request)
    t = Translator(language(request))
    form = await forms.read_form(request)
    raw_number = form.get("number", "")[:100]
    errors: dict[str, str] = {}
    number = pin = ""
    try:
        number = check_number(raw_number)
    except WaitboardError:
        errors["number"] = t(
            "Bitte prüfen Sie die Antragsnummer: Sie hat 4 bis 20 Zeichen aus Buchstaben, "
            "Ziffern und Bindestrichen, so wie im Schreiben."
        )
    try:
        pin = normalise_pin(form.get("pin", "")[:100])
    except WaitboardError:
        errors["pin"] = t(
            "Bitte geben Sie die PIN mit ihren 8 Ziffern ein, so wie im Schreiben (z. B. 1234 "
            "5678)."
        )
    if errors:
        return render(
            request,
            "status.html",
            status=422,
            number=raw_number,
            errors=errors,
            failure=None,
            result=None,
        )
    try:
        application = await ctx.applications.lookup(address_of(request), number, pin)
    except TooManyAttempts as e:
        response = render(
            request,
            "status.html",
            status=status_of(e),
            number=number,
            errors={},
            failure=t(
                "Zu viele falsche Versuche. Bitte versuchen Sie es in {minutes}\u00a0Min. noch "
                "einmal. Wenn Sie das Schreiben nicht mehr haben, wenden Sie sich bitte an uns.",
                minutes=e.extra["minutes"],
            ),
            result=None,
        )
        response.headers["Retry-After"] = str(e.retry_after_s)
        return response
    except LookupFailed:
        return render(
            request,
            "status.html",
            status=404,
            number=number,
            errors={},
            failure=t(
                "Antragsnummer oder PIN stimmen nicht. Bitte prüfen Sie beides in unserem "
                "Schreiben und versuchen Sie es noch einmal."
            ),
            result=None,
        )
    result = public_answer(application, t, ctx.office.tz)
    result["updated_on"] = date_text(t, application.updated_at, ctx.office.tz)
    if application.delete_at is not None:
        result["delete_on"] = date_text(t, application.delete_at, ctx.office.tz)
    return render(request, "status.html", number="", errors={}, failure=None, result=result)
