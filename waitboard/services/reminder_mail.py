"""The reminder e-mail of a booked appointment, in the language it was booked in: plain text
and the same as simple HTML, with the headers an automatic mail carries.

It says where (location and concern) and when (the weekday, the date and time as the
language writes them), the booking code, the booking's page (only when the public address
is configured: a background job knows no request to take it from) and how to cancel.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from html import escape

from babel.dates import get_day_names

from waitboard.core.office import Location, Office, Queue
from waitboard.i18n import Translator


@dataclass(frozen=True, slots=True)
class Reminder:
    """What a reminder says, before it is written in a language."""

    office: Office
    location: Location
    queue: Queue
    start: datetime  # local
    code: str  # as shown: K7QM-4XPA
    url: str | None  # the booking's page, absolute; None without WAITBOARD_PUBLIC_URL


#: A paragraph, and the link that follows it (if any).
Paragraph = tuple[str, str | None]


def texts(reminder: Reminder, t: Translator) -> tuple[str, list[Paragraph]]:
    """The subject and the paragraphs (the last: who sends it)."""
    start = reminder.start
    day, time = t.day(start.date()), t.clock(start)
    weekday = get_day_names("wide", locale=t.locale)[start.weekday()]
    subject = t("Erinnerung an Ihren Termin am {date} um {time} Uhr", date=day, time=time)
    where = t(
        "Termin: {queue} – {location}",
        queue=t.name(reminder.queue),
        location=t.name(reminder.location),
    )
    when = t("{day} {date}, {time} Uhr", day=weekday, date=day, time=time)
    if reminder.url:
        manage = t("Ihren Termin ansehen, verschieben oder absagen:")
    else:
        manage = t(
            "Verschieben oder absagen können Sie den Termin mit Ihrem Buchungscode auf "
            "unserer Internetseite."
        )
    return subject, [
        (t("Guten Tag,"), None),
        (t("wir erinnern Sie an Ihren Termin:") + "\n" + where + "\n" + when, None),
        (
            t("Ihr Buchungscode: {code}", code=reminder.code)
            + "\n"
            + t("Mit diesem Code checken Sie vor Ort am Terminal ein."),
            None,
        ),
        (manage, reminder.url),
        (
            t(
                "Sie können nicht kommen? Bitte sagen Sie den Termin ab. Dann bekommt jemand "
                "anderes die Zeit."
            ),
            None,
        ),
        (
            t(
                "Diese E-Mail wurde automatisch verschickt. Bitte antworten Sie nicht darauf. "
                "Ihre E-Mail-Adresse wird am Ende des Termintages gelöscht."
            ),
            None,
        ),
        (t.name(reminder.location), None),
    ]


def plain(paragraphs: list[Paragraph]) -> str:
    return "\n\n".join(text + (f"\n{link}" if link else "") for text, link in paragraphs) + "\n"


def html(paragraphs: list[Paragraph], t: Translator) -> str:
    body = []
    for text, link in paragraphs:
        inner = escape(text).replace("\n", "<br>\n")
        if link:
            inner += f'<br>\n<a href="{escape(link)}">{escape(link)}</a>'
        body.append(f"<p>{inner}</p>")
    return (
        f'<!DOCTYPE html>\n<html lang="{t.html_lang}" dir="{t.dir}">\n'
        '<head><meta charset="utf-8"></head>\n<body>\n' + "\n".join(body) + "\n</body>\n</html>\n"
    )


def message(
    reminder: Reminder, t: Translator, *, to: str, mail_from: str, sent_at: datetime, job_id: str
) -> EmailMessage:
    """The mail, ready to hand over. Its Message-ID comes from the job: a reminder sent
    twice (at least once) is the same message to the recipient's mail system."""
    subject, paragraphs = texts(reminder, t)
    name, address = parseaddr(mail_from)
    domain = address.rpartition("@")[2] or "waitboard.invalid"
    msg = EmailMessage()
    msg["From"] = formataddr((name or t.name(reminder.location), address))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = f"<{hashlib.sha256(job_id.encode()).hexdigest()[:40]}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"  # (RFC 3834: no automatic replies to it)
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(plain(paragraphs))
    msg.add_alternative(html(paragraphs, t), subtype="html")
    msg["Content-Language"] = t.html_lang  # (after the content: set_content drops Content-*)
    return msg
