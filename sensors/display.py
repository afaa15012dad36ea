"""What the person at a text-screen terminal reads: the chosen language first, the other
one below it. Shared texts come from the catalogs (kiosk_templates/locale); these are the
terminal's own situations."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

from waitboard.i18n import Translator

# What the person in front of the terminal reads, beyond the shared catalogs
# (kiosk_templates/locale): the terminal's own situations.
TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "choose": "Bitte wählen Sie Ihr Anliegen: {choices}",
        "no_such_button": "Diese Auswahl gibt es nicht: „{label}“. Bitte wählen Sie {choices}.",
        "not_ready": "Das Terminal kennt die Anliegen noch nicht. Bitte wenden Sie sich an "
        "die Anmeldung.",
        "unreachable": "Der Server ist gerade nicht erreichbar – Ihr Ticket wird gedruckt, "
        "sobald er wieder antwortet.",
        "issued": "Ihre Wartenummer: {number} ({queue}). {ahead}",
        "refused": "Kein Ticket für {queue}: {reason}",
        "printer": "Der Drucker ist gestört. Ihre Wartenummer ist {number} – bitte merken Sie "
        "sie sich oder wenden Sie sich an die Anmeldung.",
    },
    "en": {
        "choose": "Please choose your service: {choices}",
        "no_such_button": "There is no choice “{label}”. Please choose {choices}.",
        "not_ready": "The terminal does not know the services yet. Please go to reception.",
        "unreachable": "The server cannot be reached right now – your ticket will be printed "
        "as soon as it answers again.",
        "issued": "Your number: {number} ({queue}). {ahead}",
        "refused": "No ticket for {queue}: {reason}",
        "printer": "The printer is out of order. Your number is {number} – please remember it "
        "or go to reception.",
    },
}


class Display:
    """Messages for the person at the terminal on a text screen: the chosen language
    first, the other one below it."""

    def __init__(self, lang: str, out: TextIO | None = None) -> None:
        self.langs = [lang, *(other for other in ("de", "en") if other != lang)]
        self._out = out if out is not None else sys.stdout

    def say(self, compose: Callable[[Translator], str]) -> None:
        for i, lang in enumerate(self.langs):
            self._out.write(("" if i == 0 else "  ") + compose(Translator(lang)) + "\n")
        self._out.write("\n")
        self._out.flush()

    def text(self, key: str, **params: Any) -> None:
        self.say(lambda t: TEXTS[t.lang][key].format(**params))
