"""The printed ticket in every language: Latin with Turkish letters, Cyrillic, Arabic shaped
and right to left - drawn with DejaVu Sans from Debian's fonts-dejavu-core, never as boxes.
Without the font the agent names the languages it cannot print and prints their tickets
in German.

The glyph check in sensors/printing.py looks at the glyphs Pillow draws; these tests hold
it against the font's own character map, read with fontTools.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops, ImageDraw, ImageFont, features

from sensors import printing
from sensors.printing import DEBIAN_FONT_DIR, FONT_DIR_ENV, PrintedTicket, render
from waitboard.i18n import LANGUAGES

#: The queue's name per language, as in the README's example office.
NAMES = {
    "de": "Eingangszone",
    "en": "Entrance zone",
    "tr": "Karşılama",
    "ar": "الاستقبال",
    "uk": "Прийом",
    "ru": "Приём",
    "ls": "Eingang: erste Fragen",
}
ARABIC = "وقت الانتظار"  # "waiting time": two words, every letter but one joined


def ticket(lang: str = "de", location: str = "Jobcenter Düsseldorf Süd") -> PrintedTicket:
    return PrintedTicket(
        location,
        "A017",
        NAMES[lang],
        "waiting",
        4,
        1500,
        "2026-12-07T10:04:00+01:00",
        "https://wartezeiten.example.de/tickets/t_x",
    )


@pytest.fixture(autouse=True)
def fresh_fonts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test looks the font up itself (the lookup's answers are cached per process)."""
    monkeypatch.delenv(FONT_DIR_ENV, raising=False)
    printing._can_print.cache_clear()
    yield
    printing._can_print.cache_clear()


def cmap(path: Path) -> set[int]:
    with TTFont(path, lazy=True) as font:
        return set(font["cmap"].getBestCmap())


def texts(lang: str) -> list[str]:
    """Every text a ticket in ``lang`` prints, the names included."""
    return [*printing._sample_texts(lang), NAMES[lang], "Jobcenter Düsseldorf Süd", "A017"]


def test_the_font_is_debians_dejavu_sans() -> None:
    face = printing.typeface()
    assert face.regular == DEBIAN_FONT_DIR / "DejaVuSans.ttf"
    assert face.bold == DEBIAN_FONT_DIR / "DejaVuSans-Bold.ttf"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_font_has_every_letter_of_the_ticket_in_each_language(lang: str) -> None:
    """By the font's own character map, regular and bold have every character a ticket in
    the language prints; the agent counts the language as printable."""
    face = printing.typeface()
    assert face.regular is not None and face.bold is not None
    needed = {c for text in texts(lang) for c in text if c != " "}
    for path in (face.regular, face.bold):
        lacking = sorted(c for c in needed if ord(c) not in cmap(path))
        assert not lacking, f"{path.name} lacks {lacking} for {lang}"
    assert lang not in printing.unprintable_languages()


def test_the_glyph_check_agrees_with_the_fonts_character_map() -> None:
    """What the agent takes for a box is exactly what the font has no glyph for: letters
    of every ticket language, and scripts DejaVu Sans does not cover (Thai, Devanagari,
    Tibetan, Han)."""
    font = ImageFont.truetype(str(DEBIAN_FONT_DIR / "DejaVuSans.ttf"), 24)
    chars = {c for lang in LANGUAGES for text in texts(lang) for c in text} | set("กकཀ中ᚠ")
    chars -= {" "}
    in_map = cmap(DEBIAN_FONT_DIR / "DejaVuSans.ttf")
    assert printing.missing("".join(chars), font) == {c for c in chars if ord(c) not in in_map}
    assert printing.missing("กकཀ中", font) == set("กकཀ中")  # (the check can say no)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_ticket_in_each_language_is_printed_in_it(
    lang: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each language's ticket is its own (not the German one standing in), without a
    warning, and no line of it needs a stand-in."""
    with caplog.at_level(logging.WARNING, logger="sensors.printing"):
        image = render(ticket(lang), lang)
    assert not caplog.records
    assert image.width == printing.WIDTH_PX
    if lang != "de":
        german = render(ticket(lang), "de")
        assert image.size != german.size or ImageChops.difference(image, german).getbbox()


def test_arabic_is_shaped_joined_and_right_to_left() -> None:
    """Pillow lays Arabic out with libraqm: the letters take their joined forms (the line
    is narrower and drawn differently than letter after letter), and the first word
    stands at the right."""
    assert features.check("raqm"), "Pillow without libraqm: Arabic would not be shaped"
    path = str(DEBIAN_FONT_DIR / "DejaVuSans.ttf")
    raqm = ImageFont.truetype(path, 40, layout_engine=ImageFont.Layout.RAQM)
    basic = ImageFont.truetype(path, 40, layout_engine=ImageFont.Layout.BASIC)
    layout = printing._layout(raqm, "ar")
    assert layout == {"direction": "rtl", "language": "ar"}
    shaped = raqm.getlength(ARABIC, **layout)  # type: ignore[arg-type]
    assert shaped < 0.9 * basic.getlength(ARABIC)  # joined letters are narrower
    assert bytes(raqm.getmask(ARABIC, **layout)) != bytes(basic.getmask(ARABIC))  # type: ignore[arg-type]

    def drawn(text: str) -> Image.Image:
        image = Image.new("L", (400, 80), 0)
        ImageDraw.Draw(image).text((390, 10), text, font=raqm, fill=255, anchor="ra", **layout)  # type: ignore[arg-type]
        return image

    def mismatch(a: Image.Image, b: Image.Image) -> float:
        """The share of ``b``'s ink ``a`` lacks or adds, at the best of three alignments
        (a line's right end may fall a dot apart from a word's: fractional advances)."""
        ink = sum(v > 128 for v in b.point(lambda v: 255 * (v > 128)).tobytes())
        return min(
            sum(v > 128 for v in ImageChops.difference(ImageChops.offset(a, dx, 0), b).tobytes())
            / ink
            for dx in (-1, 0, 1)
        )

    line, first, last = drawn(ARABIC), drawn("وقت"), drawn("الانتظار")
    # All three end at the right edge: where the first word is ink, the line is the first
    # word; the last word alone is something else there.
    left, _, _, _ = first.getbbox() or (0, 0, 0, 0)
    window = (left - 2, 0, 400, 80)
    assert mismatch(line.crop(window), first.crop(window)) < 0.2  # (edges: antialiasing)
    assert mismatch(line.crop(window), last.crop(window)) > 0.8


def test_turkish_capitals_keep_the_dot_on_the_i() -> None:
    assert printing._upper("Sıra numarası için", "tr") == "SIRA NUMARASI İÇİN"
    assert printing._upper("Wartenummer", "de") == "WARTENUMMER"


def test_without_the_font_the_languages_are_named_and_tickets_print_in_german(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The lookup pointed at an empty directory: the start-up check names the languages
    whose letters Pillow's built-in font lacks and the package to install; their tickets
    are the German ticket, and umlauts become ae, oe, ue - never boxes."""
    monkeypatch.setenv(FONT_DIR_ENV, str(tmp_path))
    assert printing.typeface() == printing.Typeface(None, None)
    with caplog.at_level(logging.WARNING, logger="sensors.printing"):
        cannot = printing.check_fonts()
    assert cannot == ["tr", "ar", "uk", "ru", "ls"]
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.startswith("cannot print tr, ar, uk, ru, ls: ")
    assert "fonts-dejavu-core" in warning and str(tmp_path) in warning
    assert "printed in German" in warning

    german = render(ticket("de"), "de")
    for lang in ("tr", "uk", "ls"):
        stood_in = render(ticket("de"), lang)
        assert stood_in.size == german.size
        assert not ImageChops.difference(stood_in, german).getbbox(), lang
    transliterated = render(ticket("de", location="Jobcenter Duesseldorf Sued"), "de")
    assert not ImageChops.difference(german, transliterated).getbbox()
    builtin = ImageFont.load_default(24)
    assert printing.missing("ÄЖو", builtin) == set("ÄЖو")  # it would have been boxes


def test_without_libraqm_arabic_is_named_and_not_printed_unshaped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Pillow's basic layout draws Cyrillic and Turkish right, Arabic letter by letter
    from the left: without libraqm, Arabic is the one language the agent cannot print."""
    monkeypatch.setattr(printing, "_raqm", lambda font: False)
    with caplog.at_level(logging.WARNING, logger="sensors.printing"):
        assert printing.check_fonts() == ["ar"]
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.startswith("cannot print ar: ") and "libfribidi0" in warning
