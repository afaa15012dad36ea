"""What the person at a text-screen terminal reads: the chosen language first, German (or,
below German, English) under it. The texts are in the catalogs (kiosk_templates/locale)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

from waitboard.core.languages import DEFAULT, html_lang
from waitboard.core.marks import N_, Message
from waitboard.i18n import Translator

# What the person in front of the terminal reads, beyond the shared texts: the terminal's
# own situations (German source texts, translated in the catalogs like every other).
TEXTS: dict[str, Message] = {
    "choose": N_("Bitte wählen Sie Ihr Anliegen: {choices}"),
    "no_such_button": N_("Diese Auswahl gibt es nicht: „{label}“. Bitte wählen Sie {choices}."),
    "not_ready": N_(
        "Das Terminal kennt die Anliegen noch nicht. Bitte wenden Sie sich an die Anmeldung."
    ),
    "unreachable": N_(
        "Der Server ist gerade nicht erreichbar – Ihr Ticket wird gedruckt, sobald er wieder "
        "antwortet."
    ),
    "issued": N_("Ihre Wartenummer: {number} ({queue}). {ahead}"),
    "refused": N_("Kein Ticket für {queue}: {reason}"),
    "printer": N_(
        "Der Drucker ist gestört. Ihre Wartenummer ist {number} – bitte merken Sie sie sich "
        "oder wenden Sie sich an die Anmeldung."
    ),
}


class Display:
    """Messages for the person at the terminal on a text screen: the chosen language
    first, German below it (for the staff who help), or English below German."""

    def __init__(self, lang: str, out: TextIO | None = None) -> None:
        self.langs = [lang, "en" if html_lang(lang) == DEFAULT else DEFAULT]
        self._out = out if out is not None else sys.stdout

    def say(self, compose: Callable[[Translator], str]) -> None:
        for i, lang in enumerate(self.langs):
            self._out.write(("" if i == 0 else "  ") + compose(Translator(lang)) + "\n")
        self._out.write("\n")
        self._out.flush()

    def text(self, key: str, **params: Any) -> None:
        self.say(lambda t: t.message(TEXTS[key], **params))
