"""What BITV 2.0 asks of a public body's site, reachable from every citizen page: the
accessibility statement (from the office configuration), the site explained in Leichte
Sprache and in German Sign Language, and a form to report a barrier.

The report needs no personal data and is answered on the same page in the reader's
language; its rate limit is :data:`waitboard.services.limits.REPORTS`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from waitboard.context import context
from waitboard.core.barriers import CONTACT_MAX, PAGE_MAX, TEXT_MAX, TEXT_MIN, check_report
from waitboard.core.clock import to_ms
from waitboard.core.errors import Unprocessable
from waitboard.i18n import Translator
from waitboard.pages import forms
from waitboard.pages.render import language, render
from waitboard.services.limits import REPORT_PATH

STATEMENT_PATH = "/barrierefreiheit"


async def statement(request: Request) -> Response:
    office = context(request).office
    return render(request, "accessibility.html", a11y=office.accessibility)


async def easy_language(request: Request) -> Response:
    """The explanation in Leichte Sprache (German in easy words, whatever ``?lang=``)."""
    return render(request, "easy_language.html", language_switch=False)


async def sign_language(request: Request) -> Response:
    office = context(request).office
    a11y = office.accessibility
    return render(request, "sign_language.html", video=a11y.sign_language_video, a11y=a11y)


def _form(
    request: Request,
    status: int = 200,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    sent: bool = False,
) -> Response:
    return render(
        request,
        "barrier_report.html",
        status,
        limits={"text": TEXT_MAX, "page": PAGE_MAX, "contact": CONTACT_MAX},
        form=form or {},
        errors=errors or {},
        sent=sent,
    )


async def report_form(request: Request) -> Response:
    # (The page a reader came from, so they need not type it.)
    return _form(request, form={"page": request.query_params.get("page", "")[:PAGE_MAX]})


async def report(request: Request) -> Response:
    ctx = context(request)
    form = await forms.read_form(request)
    lang = language(request)
    try:
        text, page, contact = check_report(
            form.get("text", ""), form.get("page", ""), form.get("contact", "")
        )
    except Unprocessable as e:
        field = str(e.extra.get("field", "text"))
        message = _refusal(Translator(lang), field, str(e.extra.get("reason", "")))
        return _form(request, 422, form=form, errors={field: message})
    await ctx.store.add_barrier_report(text, page, lang, contact, to_ms(ctx.clock()))
    return _form(request, sent=True)


def _refusal(t: Translator, field: str, reason: str) -> str:
    """What to change, beside the field it is about, in the reader's language."""
    if field == "text" and reason == "short":
        return t("Bitte beschreiben Sie die Barriere in mindestens {n} Zeichen.", n=TEXT_MIN)
    if field == "text":
        return t("Die Beschreibung darf höchstens {n} Zeichen lang sein.", n=TEXT_MAX)
    if field == "page":
        return t("Die Seite ist eine Zeile mit höchstens {n} Zeichen.", n=PAGE_MAX)
    return t("Der Kontakt ist eine Zeile mit höchstens {n} Zeichen.", n=CONTACT_MAX)


def routes() -> list[Route]:
    return [
        Route(STATEMENT_PATH, statement),
        Route("/leichte-sprache", easy_language),
        Route("/gebaerdensprache", sign_language),
        Route(REPORT_PATH, report_form, methods=["GET"]),
        Route(REPORT_PATH, report, methods=["POST"]),
    ]
