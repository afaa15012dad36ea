"""The messages the JS modules use, found as ``make i18n`` finds them: Babel's JavaScript
extractor over ``kiosk_templates/static``. A page embeds only their translations."""

from __future__ import annotations

from functools import cache
from importlib import resources

from babel.messages.extract import extract

#: The functions the JS modules call (the same keywords as babel.cfg's extraction).
KEYWORDS = {"gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}

#: As babel.cfg: a text inside `${...}` of a template literal counts too.
OPTIONS = {"parse_template_string": True}

JsMessage = tuple[str | None, str | tuple[str, str]]


@cache
def js_messages() -> tuple[JsMessage, ...]:
    """(context, message) of every gettext/ngettext/pgettext call in the static JS, a
    plural's message as (singular, plural); each once, in the order first met."""
    found: dict[JsMessage, None] = {}
    static = resources.files("kiosk_templates") / "static"
    for script in sorted((f for f in static.iterdir() if f.name.endswith(".js")), key=str):
        with script.open("rb") as source:
            for _line, message, _comments, context in extract(
                "javascript", source, keywords=KEYWORDS, options=OPTIONS
            ):
                if isinstance(message, str):
                    found[(context, message)] = None
                else:
                    found[(context, (message[0], message[1]))] = None
    return tuple(found)
