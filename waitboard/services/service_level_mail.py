"""The alert e-mail of a queue that left its service-level target, for the office's staff:
in German (the staff's language), plain text and the same as simple HTML, with the headers
an automatic mail carries. It names the location, the queue, what happened and the numbers
behind it - never a ticket number, never a count of people.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from html import escape
from typing import Any

from waitboard.core.service_levels import Standing, minutes_text, percent

#: What each state is called in the subject and the first line.
HEADLINES = {
    Standing.AT_RISK.value: "Serviceziel gefährdet",
    Standing.MISSED.value: "Serviceziel überschritten",
}


def texts(
    body: dict[str, Any], location_name: str, queue_name: str, at: datetime
) -> tuple[str, list[str]]:
    """The subject and the paragraphs of an alert job's body (see ServiceLevels._mail)."""
    state = str(body["state"])
    headline = HEADLINES.get(state, "Serviceziel")
    within = int(body["target_within_minutes"])
    target = f"{percent(float(body['target_share']))} % in {within} Min."
    lines = [
        f"Warteschlange: {queue_name}",
        f"Standort: {location_name}",
        f"Ziel: {target}",
        f"Längste Wartezeit jetzt: {minutes_text(int(body['longest_wait_s']))}",
    ]
    if body.get("forecast_s") is not None:
        lines.append(f"Prognose (längste Wartezeit): {minutes_text(int(body['forecast_s']))}")
    share = body.get("share_today")
    lines.append(
        f"Heute innerhalb des Ziels aufgerufen: {percent(float(share))} %"
        if share is not None
        else "Heute innerhalb des Ziels aufgerufen: noch niemand aufgerufen"
    )
    if state == Standing.MISSED.value:
        what = f"Mindestens eine wartende Person wartet schon länger als {within} Minuten."
    else:
        what = (
            "Nach der Prognose wird jemand in der Warteschlange oder die nächste Person, "
            f"die kommt, erst nach mehr als {within} Minuten aufgerufen."
        )
    return f"{headline}: {queue_name} – {location_name}", [
        f"{headline} ({at.strftime('%d.%m.%Y, %H:%M')} Uhr)",
        what,
        "\n".join(lines),
        "Sie können zum Beispiel einen weiteren Schalter für diese Warteschlange öffnen. "
        "Eine neue Meldung kommt erst, wenn die Warteschlange eine Weile wieder im Ziel war.",
        "Diese E-Mail wurde automatisch von waitboard verschickt.",
    ]


def message(
    subject: str, paragraphs: list[str], *, to: str, mail_from: str, sent_at: datetime, job_id: str
) -> EmailMessage:
    """The mail, ready to hand over; its Message-ID comes from the job, so that a mail sent
    twice (at least once) is the same message to the recipient's mail system."""
    name, address = parseaddr(mail_from)
    domain = address.rpartition("@")[2] or "waitboard.invalid"
    msg = EmailMessage()
    msg["From"] = formataddr((name or "waitboard", address))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = f"<{hashlib.sha256(job_id.encode()).hexdigest()[:40]}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content("\n\n".join(paragraphs) + "\n")
    html = "\n".join(f"<p>{escape(p).replace(chr(10), '<br>' + chr(10))}</p>" for p in paragraphs)
    msg.add_alternative(
        '<!DOCTYPE html>\n<html lang="de">\n<head><meta charset="utf-8"></head>\n<body>\n'
        + html
        + "\n</body>\n</html>\n",
        subtype="html",
    )
    msg["Content-Language"] = "de"
    return msg
