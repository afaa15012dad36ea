"""The booking, move and cancel forms: they explain what is wrong, keep what was typed and book
once per form."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.appointments.support import (
    FORM,
    HTML,
    MONDAY,
    TUESDAY,
    Env,
    appointment,
    book,
    fill,
    free_at,
    slot,
)
from tests.helpers import (
    dataset,
)
from waitboard.pages import booking_cookie


@dataclass
class FormCase:
    name: str
    form: dict[str, str]
    status: int
    says: str
    lang: str = "de"


FORM_CASES = [
    FormCase("no slot picked", {"contact": ""}, 422, "Bitte wählen Sie eine Uhrzeit."),
    FormCase(
        "garbage slot",
        {"start": "morgen früh"},
        422,
        "Diese Uhrzeit kann nicht (mehr) gebucht werden.",
    ),
    FormCase(
        "slot off the grid",
        {"start": slot("09:10")},
        422,
        "Diese Uhrzeit kann nicht (mehr) gebucht werden.",
    ),
    FormCase(
        "naive slot",
        {"start": "2026-12-01T09:00:00"},
        422,
        "Diese Uhrzeit kann nicht (mehr) gebucht werden.",
    ),
    FormCase(
        "slot within the notice",
        {"start": slot("08:20")},
        422,
        "Diese Uhrzeit kann nicht (mehr) gebucht werden.",
    ),
    FormCase(
        "contact neither e-mail nor phone",
        {"start": slot("09:00"), "contact": "Anna"},
        422,
        "Bitte eine E-Mail-Adresse oder Telefonnummer angeben",
    ),
    FormCase(
        "contact with a newline",
        {"start": slot("09:00"), "contact": "anna@example.org\r\nBcc: x@example.org"},
        422,
        "Bitte eine E-Mail-Adresse oder Telefonnummer angeben",
    ),
    FormCase(
        "contact too long",
        {"start": slot("09:00"), "contact": "1" * 121},
        422,
        "Bitte eine E-Mail-Adresse oder Telefonnummer angeben",
    ),
    FormCase("full slot", {"start": slot("11:00")}, 409, "Diese Zeit ist inzwischen ausgebucht."),
    FormCase(
        "full slot, in English",
        {"start": slot("11:00")},
        409,
        "This time has just been fully booked.",
        lang="en",
    ),
    FormCase(
        "bad contact, in English",
        {"start": slot("09:00"), "contact": "?"},
        422,
        "Please give an e-mail address or phone number",
        lang="en",
    ),
]


@pytest.mark.parametrize("case", FORM_CASES, ids=[c.name for c in FORM_CASES])
async def test_the_booking_form_explains_what_is_wrong(env: Env, case: FormCase) -> None:
    """The public booking form answers bad input with the page again (422/409) and a
    readable message in the visitor's language; nothing is booked."""
    await fill(env.http, slot("11:00"))
    before = await dataset(env.redis)
    path = FORM + ("?lang=en" if case.lang == "en" else "")
    r = await env.http.post(path, headers=HTML, data={**case.form, "key": "form-key-1"})
    assert r.status_code == case.status, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    assert case.says in r.text, r.text[:2000]
    assert 'role="alert"' in r.text and "Traceback" not in r.text
    # The one cookie of the page: the booking client's random id, never a session.
    cookies = r.headers.get_list("set-cookie")
    assert [c.split("=", 1)[0] for c in cookies] == [booking_cookie.COOKIE], cookies
    if "contact" in case.name:  # (beside its field, which says it is wrong)
        field = re.search(
            r'<input id="contact"[^>]*>\s*<p class="flash error"[^>]*>([^<]*)', r.text
        )
        assert field and case.says in field.group(1) and "aria-invalid" in field.group(0)
    if case.status == 409:
        # The next free slots, offered as buttons.
        assert f'value="{slot("11:20")}"' in r.text
    assert await dataset(env.redis) == before, "a refused form booked something"


async def test_the_booking_form_books_once_per_rendered_form(env: Env) -> None:
    """A good form redirects to the booking's page; the same form posted twice books one
    place."""
    page = await env.http.get(FORM, headers=HTML)
    assert page.status_code == 200
    key = re.search(r'name="key" value="([^"]+)"', page.text)
    assert key
    form = {"key": key.group(1), "start": slot("09:00"), "contact": ""}
    first = await env.http.post(FORM, headers=HTML, data=form)
    second = await env.http.post(FORM, headers=HTML, data=form)
    assert first.status_code == second.status_code == 303, first.text
    assert first.headers["location"] == second.headers["location"]
    found = re.fullmatch(
        r"/appointments/([2-9A-Z]{4}-[2-9A-Z]{4})\?new=1", first.headers["location"]
    )
    assert found, first.headers["location"]
    assert await free_at(env.http, slot("09:00")) == 2
    shown = await env.http.get(first.headers["location"], headers=HTML)
    assert shown.status_code == 200 and found.group(1) in shown.text


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    ("lang", "says", "link"),
    [
        (
            "de",
            "Am Standort Jobcenter Süd gibt es dieses Anliegen nicht, oder es wird "
            "dort ohne Termin bedient.",
            "Zu den Anliegen mit Termin",
        ),
        (
            "en",
            "There is no such service at Job centre South, or it takes no appointments there.",
            "To the services with appointments",
        ),
    ],
)
@pytest.mark.parametrize("queue", ["ZZ", "A"], ids=["unknown", "without appointments"])
async def test_a_concern_not_offered_here_says_so_and_links_to_the_ones_that_are(
    env: Env, queue: str, lang: str, says: str, link: str, method: str
) -> None:
    """The booking address of a concern the location does not have, or serves without
    appointments, answers 404 in the reader's language saying so (not a word about codes)
    and links to the location's concerns with appointments."""
    query = "?lang=en" if lang == "en" else ""
    before = await dataset(env.redis)
    r = await env.http.request(
        method,
        f"/locations/sued/appointments/{queue}{query}",
        headers=HTML,
        data={"start": slot("09:00"), "key": "k"} if method == "POST" else None,
    )
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    alert = re.search(r'<p role="alert">([^<]*)</p>', r.text)
    assert alert and says in alert.group(1), r.text[:2000]
    assert "code" not in alert.group(1).lower()
    assert re.search(rf'<a [^>]*href="/locations/sued/appointments{re.escape(query)}"', r.text)
    assert f">{link}</a>" in r.text
    assert await dataset(env.redis) == before


FORM_POST = {"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"}


async def test_the_move_form_explains_and_moves_nothing(env: Env) -> None:
    """The public move form: a full slot or a bad time answers the page with the German
    message (409/422) and leaves the booking; a free slot moves it."""
    code = (await book(env.http, slot("09:00")))["code"]
    await fill(env.http, slot("11:00"))
    before = await dataset(env.redis)
    full = await env.http.post(
        f"/appointments/{code}/move", headers=HTML, data={"start": slot("11:00")}
    )
    assert full.status_code == 409, full.text[:300]
    assert "Diese Zeit ist inzwischen ausgebucht." in full.text
    assert f'value="{slot("11:20")}"' in full.text
    bad = await env.http.post(f"/appointments/{code}/move", headers=HTML, data={"start": "gleich"})
    assert bad.status_code == 422 and "Diese Uhrzeit kann nicht (mehr) gebucht" in bad.text
    none = await env.http.post(f"/appointments/{code}/move", headers=HTML, data={"x": ""})
    assert none.status_code == 422 and "Bitte wählen Sie eine Uhrzeit." in none.text
    assert await dataset(env.redis) == before
    moved = await env.http.post(
        f"/appointments/{code}/move", headers=HTML, data={"start": slot("10:00")}
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/appointments/{code}?moved=1"
    assert (await appointment(env.http, code))["start"] == slot("10:00")


async def test_a_form_sent_back_with_an_error_stays_on_its_day(env: Env) -> None:
    """Booking or moving to Tuesday with a mistake answers with Tuesday's slots, not
    Monday's: the day the person had picked is kept."""
    page = await env.http.get(FORM + f"?date={TUESDAY}", headers=HTML)
    assert f'name="date" value="{TUESDAY}"' in page.text
    for form in (
        {"date": str(TUESDAY), "start": slot("09:00", TUESDAY), "contact": "Anna"},
        {"date": str(TUESDAY)},  # no time picked
    ):
        r = await env.http.post(FORM, headers=HTML, data={**form, "key": "k"})
        assert r.status_code == 422, r.text[:300]
        assert f'value="{slot("09:00", TUESDAY)}"' in r.text
        assert f'value="{slot("09:00")}"' not in r.text
    code = (await book(env.http, slot("09:00")))["code"]
    r = await env.http.post(
        f"/appointments/{code}/move",
        headers=HTML,
        data={"date": str(TUESDAY), "start": "gleich"},
    )
    assert r.status_code == 422 and f'value="{slot("10:00", TUESDAY)}"' in r.text


async def test_the_move_page_opens_on_the_booked_day(env: Env) -> None:
    """Moving a Tuesday appointment starts from Tuesday's slots, not from the first day
    that can be booked; another day is one link away."""
    code = (await book(env.http, slot("09:00", TUESDAY)))["code"]
    r = await env.http.get(f"/appointments/{code}/move", headers=HTML)
    assert r.status_code == 200
    assert f'name="date" value="{TUESDAY}"' in r.text
    assert f'value="{slot("09:20", TUESDAY)}"' in r.text
    assert f'value="{slot("09:20")}"' not in r.text
    monday = await env.http.get(f"/appointments/{code}/move?date={MONDAY}", headers=HTML)
    assert f'value="{slot("09:20")}"' in monday.text


async def test_a_cancelled_booking_offers_no_move(env: Env) -> None:
    """The move page of a cancelled booking leads to the booking's page, which says it is
    cancelled, instead of offering times it cannot take."""
    code = (await book(env.http, slot("09:00")))["code"]
    await env.http.post(f"/appointments/{code}/cancel", headers=FORM_POST, content=b"")
    r = await env.http.get(f"/appointments/{code}/move", headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == f"/appointments/{code}"
    r = await env.http.post(
        f"/appointments/{code}/move", headers=HTML, data={"start": slot("10:00")}
    )  # the move form still open in another tab
    assert r.status_code == 303 and r.headers["location"] == f"/appointments/{code}"


async def test_the_cancel_form_cancels_and_the_page_says_so(env: Env) -> None:
    """The cancel button on the booking's page cancels it; the page then says so and offers
    no cancel button any more."""
    code = (await book(env.http, slot("09:00")))["code"]
    r = await env.http.post(f"/appointments/{code}/cancel", headers=FORM_POST, content=b"")
    assert r.status_code == 303 and r.headers["location"] == f"/appointments/{code}"
    page = await env.http.get(r.headers["location"], headers=HTML)
    assert "Dieser Termin ist abgesagt. Die Zeit ist wieder frei." in page.text
    assert "/cancel" not in page.text
    assert await free_at(env.http, slot("09:00")) == 3
