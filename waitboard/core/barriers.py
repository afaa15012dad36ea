"""Reports of barriers: what a reader of the public pages tells the office about a page
they could not use (BITV 2.0 asks for such a feedback route beside the accessibility
statement).

A report needs no personal data: what did not work, and where. A contact is optional, for
an answer, and is deleted once the office has handled the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from waitboard.core.errors import Unprocessable

TEXT_MIN, TEXT_MAX = 10, 2000
CONTACT_MAX = 120
PAGE_MAX = 300
#: How long a report is kept (handled or not): a year's reports show what keeps failing.
KEEP_DAYS = 365
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class BarrierReport:
    id: str
    at_ms: int
    page: str  # the address it is about, as the reader gave it (may be empty)
    text: str
    lang: str  # the language it was written from, for the answer
    contact: str | None
    handled: bool


def check_report(text: str, page: str, contact: str) -> tuple[str, str, str | None]:
    """The report's text, page and contact, trimmed; a refusal names the field and says
    what to change."""
    text, page, contact = text.strip(), page.strip(), contact.strip()
    if len(text) < TEXT_MIN:
        raise Unprocessable(
            f"Describe the barrier in at least {TEXT_MIN} characters.", field="text", reason="short"
        )
    if len(text) > TEXT_MAX or _CONTROL.search(text):
        raise Unprocessable(
            f"The description may have at most {TEXT_MAX} characters of plain text.",
            field="text",
            reason="long",
        )
    if len(page) > PAGE_MAX or "\n" in page or _CONTROL.search(page):
        raise Unprocessable("The page is one line of at most 300 characters.", field="page")
    if len(contact) > CONTACT_MAX or "\n" in contact or _CONTROL.search(contact):
        raise Unprocessable(
            f"The contact is one line of at most {CONTACT_MAX} characters.", field="contact"
        )
    return text, page, contact or None
