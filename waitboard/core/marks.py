"""Marks for texts a person reads: a German source text where it is written, translated
where it is shown (``Translator``). ``make i18n`` extracts what the marks wrap."""

from __future__ import annotations

#: A source text, or a source text with the context that tells it from its twin ("geschlossen"
#: a location is, against "geschlossen" a day of the week is).
Message = str | tuple[str, str]


def N_(message: str) -> str:
    """A text to translate later, where it is shown."""
    return message


def NP_(context: str, message: str) -> tuple[str, str]:
    """A text with its context, to translate later."""
    return context, message
