"""The gettext catalogs as shipped: complete, in step with the code, compiled as written."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.helpers import ROOT
from waitboard.core.languages import html_lang
from waitboard.i18n import DEFAULT, LANGUAGES
from waitboard.js_texts import js_messages

LOCALE = ROOT / "kiosk_templates" / "locale"
POT = LOCALE / "waitboard.pot"
#: The languages with a catalog of their own (German is the source texts).
TRANSLATED = [lang for lang in LANGUAGES if lang != DEFAULT]


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "waitboard.po"


def read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def forms(text: str | tuple[str, ...] | list[str]) -> list[str]:
    return [text] if isinstance(text, str) else list(text)


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields ``str.format`` fills (``{{`` is a brace, not a field)."""
    return set(re.findall(r"(?<!{){(\w*)}", text))


def entries(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_a_shipped_catalog_has_no_untranslated_fuzzy_or_obsolete_entry(lang: str) -> None:
    """Every source text is translated, none is a guess still marked fuzzy, and no
    translation of a text the code no longer uses lingers (a person decides about each)."""
    catalog = read(po_path(lang))
    untranslated = [m.id for m in entries(catalog) if not all(forms(m.string))]
    fuzzy = [m.id for m in entries(catalog) if m.fuzzy]
    assert not untranslated, untranslated
    assert not fuzzy, fuzzy
    assert not catalog.fuzzy, "the header is marked fuzzy"
    assert not catalog.obsolete, list(catalog.obsolete)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_a_translation_keeps_the_placeholders_of_its_source(lang: str) -> None:
    """A translation has the {placeholders} of its German text; of a plural, every form
    has those of the plural source text, except that a form may spell its number ("1
    second") instead of {n}."""
    for m in entries(read(po_path(lang))):
        if isinstance(m.id, str):
            assert placeholders(str(m.string)) == placeholders(m.id), m.id
            continue
        wanted = placeholders(m.id[1])
        for form in forms(m.string):
            assert wanted - {"n"} <= placeholders(form) <= wanted, (m.id, form)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_a_catalog_has_its_languages_plural_rule_and_the_review_note(lang: str) -> None:
    """Plural-Forms is Babel's CLDR rule for the language (Arabic's six forms come from
    there too; Leichte Sprache has German's), and the header says a native speaker has to
    review it before production."""
    catalog = read(po_path(lang))
    assert catalog.plural_forms == Catalog(locale=html_lang(lang)).plural_forms
    assert "reviewed by a native speaker before production use" in catalog.header_comment


@pytest.mark.parametrize("lang", TRANSLATED)
def test_each_committed_mo_is_its_po_compiled(lang: str) -> None:
    """The service reads the .mo: one that lags behind its .po cannot ship."""
    compiled = io.BytesIO()
    write_mo(compiled, read(po_path(lang)))
    assert (po_path(lang).with_suffix(".mo")).read_bytes() == compiled.getvalue()


def without_dates(pot: str) -> str:
    return re.sub(r'"POT-Creation-Date: [^"]*"', "", pot)


def test_the_template_holds_every_text_the_code_templates_and_js_use(tmp_path: Path) -> None:
    """Extracting anew (as `make i18n` does) gives the committed waitboard.pot but for its
    date: no text used in the code, a template or the JS is missing from the catalogs."""
    fresh = tmp_path / "waitboard.pot"
    subprocess.run(
        ["make", "--no-print-directory", "-s", "pot", f"POT={fresh}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert without_dates(fresh.read_text("utf-8")) == without_dates(POT.read_text("utf-8"))


@pytest.mark.parametrize("lang", TRANSLATED)
def test_a_catalog_translates_exactly_the_templates_texts(lang: str) -> None:
    """`make i18n` has run since the template changed: the .po holds the same texts."""
    keys = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in entries(read(POT))}
    translated = read(po_path(lang))
    assert {
        (m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in entries(translated)
    } == keys


def test_every_js_call_is_found_by_the_extraction() -> None:
    """Each gettext/ngettext/pgettext call in the JS modules, wherever it stands (inside a
    template literal's ${...} too), is among the messages a page embeds - else the browser
    would show the German text on a page in another language."""
    source = "".join(
        p.read_text("utf-8") for p in (ROOT / "kiosk_templates" / "static").glob("*.js")
    )
    literal = r'("(?:[^"\\]|\\.)*")'
    called = {
        (None, json.loads(m)) for m in re.findall(rf"\b(?:gettext|ngettext)\({literal}", source)
    } | {
        (json.loads(c), json.loads(m))
        for c, m in re.findall(rf"\bpgettext\({literal}, {literal}", source)
    }
    found = {(c, m if isinstance(m, str) else m[0]) for c, m in js_messages()}
    assert called, "no calls found: the pattern is out of date"
    assert called <= found, sorted(called - found, key=str)
