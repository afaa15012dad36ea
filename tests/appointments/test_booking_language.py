"""A booking keeps the language it was made in: its page, opened later from anywhere (a
link in a mail, the code typed on another phone), and its calendar file speak it - unless
the reader picks another language on the page."""

from __future__ import annotations

import re

import icalendar
import pytest

from tests.appointments.support import BOOK, FORM, HTML, Env, problem, slot
from tests.helpers import dataset
from waitboard.core.languages import CITIZEN_LANGUAGES, html_lang
from waitboard.i18n import Translator
from waitboard.web.schemas import CitizenLanguage


def booked_heading(lang: str) -> str:
    return Translator(lang)("Ihr Termin")


async def test_the_api_names_every_citizen_language_it_takes() -> None:
    """The OpenAPI document's language enum is the citizen pages' list (one source)."""
    assert CitizenLanguage.__args__ == CITIZEN_LANGUAGES  # type: ignore[attr-defined]


@pytest.mark.parametrize("lang", ["tr", "ar", "uk"])
async def test_a_booking_made_over_the_api_in_a_language_keeps_it(env: Env, lang: str) -> None:
    """Booked with "lang": the answer says so; its page without ?lang= speaks that language
    even to a German browser; its calendar file too; ?lang= still lets the reader choose."""
    r = await env.http.post(BOOK, json={"queue": "T", "start": slot("09:00"), "lang": lang})
    assert r.status_code == 201, r.text
    booking = r.json()
    assert booking["lang"] == lang
    german = {**HTML, "Accept-Language": "de-DE,de;q=0.9"}
    page = await env.http.get(booking["url"], headers=german)
    assert page.status_code == 200
    assert f'<html lang="{html_lang(lang)}"' in page.text
    assert booked_heading(lang) in page.text
    # Its links keep the language (moving, cancelling, the calendar file).
    assert f"{booking['url']}/move?lang={lang}" in page.text
    chosen = await env.http.get(booking["url"] + "?lang=de", headers=german)
    assert '<html lang="de"' in chosen.text and booked_heading("de") in chosen.text
    ics = await env.http.get(booking["ics_url"], headers=german)
    event = next(iter(icalendar.Calendar.from_ical(ics.content).walk("VEVENT")))
    # "Randevu: …", "Запис: …": the summary's words in the booking's language.
    lead = Translator(lang)("Termin: {queue} – {location}").split("{queue}")[0]
    assert lead != "Termin: " and str(event["summary"]).startswith(lead), event["summary"]


async def test_a_booking_without_a_language_is_german(env: Env) -> None:
    """The API's default (a booking made before languages existed reads the same)."""
    r = await env.http.post(BOOK, json={"queue": "T", "start": slot("09:00")})
    assert r.status_code == 201 and r.json()["lang"] == "de"


@pytest.mark.parametrize("lang", ["fr", "DE", "", "de-DE"])
async def test_an_unknown_language_books_nothing(env: Env, lang: str) -> None:
    before = await dataset(env.redis)
    r = await env.http.post(BOOK, json={"queue": "T", "start": slot("09:00"), "lang": lang})
    body = problem(r, 422)
    assert "lang" in r.text, body
    assert await dataset(env.redis) == before


async def test_a_booking_made_on_the_ukrainian_page_stays_ukrainian(env: Env) -> None:
    """Booked through the form in Ukrainian; the code opened later on a German phone
    still shows the booking in Ukrainian."""
    page = await env.http.get(FORM + "?lang=uk", headers=HTML)
    key = re.search(r'name="key" value="([^"]+)"', page.text)
    assert key
    done = await env.http.post(
        FORM + "?lang=uk",
        headers=HTML,
        data={"key": key.group(1), "start": slot("09:00"), "contact": ""},
    )
    assert done.status_code == 303
    location = done.headers["location"]
    assert location.endswith("?new=1&lang=uk"), location
    code = re.search(r"/appointments/([2-9A-Z]{4}-[2-9A-Z]{4})", location)
    assert code
    later = await env.http.get(
        f"/appointments/{code.group(1)}", headers={**HTML, "Accept-Language": "de"}
    )
    assert '<html lang="uk"' in later.text and booked_heading("uk") in later.text


async def test_german_chosen_against_the_browser_stays_german_after_the_form(env: Env) -> None:
    """A reader whose browser asks for English but who chose Deutsch keeps German on the
    page the form leads to (the redirect carries the choice)."""
    english = {**HTML, "Accept-Language": "en"}
    page = await env.http.get(FORM + "?lang=de", headers=english)
    key = re.search(r'name="key" value="([^"]+)"', page.text)
    assert key and '<html lang="de"' in page.text
    done = await env.http.post(
        FORM + "?lang=de",
        headers=english,
        data={"key": key.group(1), "start": slot("09:00"), "contact": ""},
    )
    assert done.status_code == 303 and done.headers["location"].endswith("&lang=de")
    shown = await env.http.get(done.headers["location"], headers=english)
    assert '<html lang="de"' in shown.text and booked_heading("de") in shown.text
