"""Tickets on paper, or as files when no printer is attached: one rendering, many outputs.

Every ticket is drawn once as an image the width of an 80 mm thermal printer's print head
(576 dots at 203 dpi), laid out like the ticket reception prints from its page; an
ESC/POS printer gets that image, a directory gets it as PNG or PDF. One rendering means
the QR code and the umlauts come out the same everywhere, whatever code page a printer has.

Scripts a receipt printer's own fonts lack - Arabic, Cyrillic, Turkish letters - are drawn
with DejaVu Sans from Debian's ``fonts-dejavu-core`` (``/usr/share/fonts/truetype/dejavu``,
or the directory in ``WAITBOARD_PRINT_FONT_DIR``), laid out by Pillow's libraqm layout:
Arabic shaped, its letters joined, right to left. A language the font (or the layout)
cannot draw is never printed as boxes: :func:`check_fonts` names it at start-up, and its
tickets are printed in German, the office's default.
"""

from __future__ import annotations

import copy
import io
import logging
import os
import tempfile
import textwrap
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import segno
from PIL import Image, ImageDraw, ImageFont, features

from waitboard.core.languages import DEFAULT, RIGHT_TO_LEFT, direction, html_lang
from waitboard.i18n import LANGUAGES, Translator

log = logging.getLogger(__name__)

#: 80 mm paper, 72 mm printable at 203 dpi.
WIDTH_PX = 576
DPI = 203
_MARGIN = 24
_FontT = ImageFont.FreeTypeFont | ImageFont.ImageFont

#: Where Debian's fonts-dejavu-core puts DejaVu Sans (Latin, Greek, Cyrillic, Arabic).
DEBIAN_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_PACKAGE = "fonts-dejavu-core"
#: A directory holding DejaVuSans.ttf (and DejaVuSans-Bold.ttf) to use instead.
FONT_DIR_ENV = "WAITBOARD_PRINT_FONT_DIR"
_REGULAR, _BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"


class PrinterError(Exception):
    """The ticket did not reach the paper (or the file)."""


@dataclass(frozen=True)
class PrintedTicket:
    """What goes on a ticket: taken from the server's Ticket and the location's names."""

    location_name: str
    number: str
    queue_name: str
    status: str
    position: int | None
    estimated_wait_s: int | None
    issued_at: str  # ISO 8601 in the location's time, as the server sends it
    url: str  # absolute: a phone scanning the code must reach the ticket page


class Printer(Protocol):
    def print_ticket(self, ticket: PrintedTicket, lang: str) -> str:
        """Put the ticket out, completely or not at all as far as the medium allows;
        returns where it went (for the log). Blocking: call it from a thread."""
        ...


# --- rendering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Typeface:
    """The font files tickets are drawn with; ``None``: Pillow's built-in font, which has
    ASCII only (no umlauts, no Cyrillic, no Arabic)."""

    regular: Path | None
    bold: Path | None


def typeface() -> Typeface:
    """DejaVu Sans from ``WAITBOARD_PRINT_FONT_DIR`` if set (and only there), else from
    Debian's directory, else wherever Pillow finds it by name (other distributions)."""
    configured = os.environ.get(FONT_DIR_ENV)
    for directory in [Path(configured)] if configured else [DEBIAN_FONT_DIR]:
        if (directory / _REGULAR).is_file():
            bold = directory / _BOLD
            return Typeface(directory / _REGULAR, bold if bold.is_file() else directory / _REGULAR)
    if not configured:
        try:
            found = Path(str(ImageFont.truetype(_REGULAR, 10).path))
        except OSError:
            pass
        else:
            bold = found.with_name(_BOLD)
            return Typeface(found, bold if bold.is_file() else found)
    return Typeface(None, None)


@cache
def _font(size: int, path: Path | None) -> _FontT:
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(str(path), size)


def _raqm(font: _FontT) -> bool:
    """Pillow lays the font's text out with libraqm (FriBiDi and HarfBuzz): bidirectional
    text and shaping. Without it (no libfribidi on the system; Pillow's built-in font)
    Pillow's basic layout draws glyph after glyph, left to right - right for Latin and
    Cyrillic, wrong for Arabic, whose letters would stand unjoined and in reverse order."""
    return (
        isinstance(font, ImageFont.FreeTypeFont)
        and font.layout_engine == ImageFont.Layout.RAQM
        and bool(features.check_feature("raqm"))
    )


def _layout(font: _FontT, lang: str, translated: bool = True) -> dict[str, str]:
    """What libraqm is told of a line: its language, and for the translated texts their
    direction (names and numbers find theirs from their own letters)."""
    if not _raqm(font):
        return {}
    if translated:
        return {"direction": direction(lang), "language": html_lang(lang)}
    return {"language": html_lang(lang)}


#: Typography a font may lack without the text losing anything.
_TYPOGRAPHIC = {
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "–": "-", "—": "-", "‑": "-", "·": "-",
    "„": '"', "“": '"', "”": '"', "«": '"', "»": '"', "‚": "'", "‘": "'", "’": "'",
    "…": "...",
}  # fmt: skip
#: Letters that stand in for missing ones in names: German's spelling without umlauts;
#: other letters lose their accents, and what is left becomes "?" - never a box.
_GERMAN = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}


def _mask(font: _FontT, text: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(text)
    return mask.size, bytes(mask)


@cache
def _has_glyph(font: _FontT, char: str) -> bool:
    """Whether ``font`` draws ``char`` as itself: a character it lacks comes out as its
    .notdef glyph (DejaVu's box), as does a noncharacter no font has."""
    if char == " " or unicodedata.category(char) == "Cf":  # invisible either way
        return True
    return _mask(font, char) != _mask(font, "\U0010fffe")


def missing(text: str, font: _FontT) -> set[str]:
    """The characters of ``text`` that ``font`` would print as boxes."""
    return {c for c in set(text) if not _has_glyph(font, c)}


def _missing_letters(text: str, font: _FontT) -> set[str]:
    """What ``font`` lacks of ``text`` beyond typography that has a plain stand-in."""
    return {c for c in missing(text, font) if missing(_TYPOGRAPHIC.get(c, c), font)}


def _printable(text: str, font: _FontT) -> str:
    if not missing(text, font):
        return text
    out = []
    for c in text:
        if _has_glyph(font, c):
            out.append(c)
            continue
        stand_in = _TYPOGRAPHIC.get(c) or _GERMAN.get(c)
        if stand_in is None:
            base = "".join(
                b for b in unicodedata.normalize("NFKD", c) if not unicodedata.combining(b)
            )
            stand_in = base if base and not missing(base, font) else "?"
        out.append(stand_in if not missing(stand_in, font) else "?")
    printable = "".join(out)
    # A name of nothing but question marks says nothing: better no line at all.
    return printable if any(c.isalnum() for c in printable) else ""


def _upper(text: str, lang: str) -> str:
    """Capitals as the language writes them: Turkish i is İ (Python's upper() makes I)."""
    return (text.replace("i", "İ") if lang == "tr" else text).upper()


def _sample_texts(lang: str) -> list[str]:
    """Every text of a ticket in ``lang`` that comes from the catalogs, with waits of
    each kind."""
    t = Translator(lang)
    return [
        _upper(t.pgettext("print.title", "Wartenummer"), lang),
        t("Vor Ihnen: {n}", n=1234567890),
        *(t("Wartezeit: {wait}", wait=t.wait(s)) for s in (None, 30, 15 * 60, 60 * 60, 80 * 60)),
        t("{date}, {time} Uhr", date="01.02.2026", time="12:34"),
        t("Scannen Sie den Code, um Ihre Wartezeit auf dem Handy zu verfolgen."),
        t("Bitte achten Sie auf die Anzeige im Wartebereich."),
    ]


@cache
def _can_print(lang: str, face: Typeface) -> bool:
    fonts = [_font(24, face.regular), _font(24, face.bold)]
    if lang in RIGHT_TO_LEFT and not all(_raqm(font) for font in fonts):
        return False
    return not any(_missing_letters(text, font) for text in _sample_texts(lang) for font in fonts)


def unprintable_languages(face: Typeface | None = None) -> list[str]:
    """The ticket languages whose texts the font or the layout cannot draw."""
    face = face or typeface()
    return [lang for lang in LANGUAGES if not _can_print(lang, face)]


def check_fonts() -> list[str]:
    """Says plainly, once at start-up, which languages cannot be printed and what to
    install; returns them. Their tickets are printed in German."""
    face = typeface()
    cannot = unprintable_languages(face)
    layout = "raqm" if _raqm(_font(24, face.regular)) else "basic"
    if not cannot:
        log.info("fonts", extra={"font": str(face.regular), "layout": layout})
        return cannot
    if face.regular is None:
        fix = (
            f"no DejaVuSans.ttf in {os.environ.get(FONT_DIR_ENV) or DEBIAN_FONT_DIR}: "
            f"install Debian's {FONT_PACKAGE}"
            + (f" or point {FONT_DIR_ENV} at its directory" if os.environ.get(FONT_DIR_ENV) else "")
        )
    elif layout == "basic" and any(lang in RIGHT_TO_LEFT for lang in cannot):
        fix = "Pillow has no libraqm layout for right-to-left text: install Debian's libfribidi0"
    else:
        fix = f"{face.regular} lacks their letters: install Debian's {FONT_PACKAGE}"
    log.warning(
        f"cannot print {', '.join(cannot)}: {fix}; "
        f"tickets in {'it' if len(cannot) == 1 else 'them'} are printed in German"
        + (" (umlauts as ae, oe, ue)" if face.regular is None else "")
    )
    return cannot


def _qr(url: str, target_px: int) -> Image.Image:
    code = segno.make(url, error="m")
    width, _ = code.symbol_size(scale=1, border=4)
    buf = io.BytesIO()
    # A whole number of dots per module: a thermal head cannot print half a dot, and a
    # blurred module is what makes a phone fail to read a code.
    code.save(buf, kind="png", scale=max(3, target_px // width), border=4)
    buf.seek(0)
    return Image.open(buf).convert("L")


def render(ticket: PrintedTicket, lang: str) -> Image.Image:
    """The ticket as a greyscale image, ``WIDTH_PX`` wide, as tall as its content.

    In ``lang`` if the font and the layout can draw it, else in German (the office's
    default, which the staff read too): a ticket in a script the font lacks would be
    boxes around the number."""
    face = typeface()
    if not _can_print(lang, face):
        log.warning("ticket printed in German", extra={"lang": lang, "number": ticket.number})
        lang = DEFAULT
    t = Translator(lang)

    def font(size: int, bold: bool = False) -> _FontT:
        return _font(size, face.bold if bold else face.regular)

    date, time = ticket.issued_at[:10], ticket.issued_at[11:16]
    lines: list[tuple[str, _FontT, int, bool]] = [  # text, font, space above, translated
        (ticket.location_name, font(30, bold=True), 0, False),
        (_upper(t.pgettext("print.title", "Wartenummer"), lang), font(24), 14, True),
        (ticket.number, font(150, bold=True), 4, False),
        (ticket.queue_name, font(40, bold=True), 10, False),
    ]
    if ticket.status == "waiting":
        ahead = (ticket.position - 1) if ticket.position else 0
        lines += [
            (t("Vor Ihnen: {n}", n=ahead), font(30), 22, True),
            (t("Wartezeit: {wait}", wait=t.wait(ticket.estimated_wait_s)), font(30), 6, True),
        ]
    day = f"{date[8:10]}.{date[5:7]}.{date[:4]}"  # (dots in both languages, as printed so far)
    lines.append((t("{date}, {time} Uhr", date=day, time=time), font(24), 14, True))
    qr = _qr(ticket.url, 300)
    footer = [
        (
            t("Scannen Sie den Code, um Ihre Wartezeit auf dem Handy zu verfolgen."),
            font(22),
            10,
            True,
        ),
        (t("Bitte achten Sie auf die Anzeige im Wartebereich."), font(24), 16, True),
    ]

    image = Image.new("L", (WIDTH_PX, 2400), 255)
    draw = ImageDraw.Draw(image)
    y = _MARGIN
    for text, f, space, translated in lines:
        if printable := _printable(text, f):
            y = _centered(draw, printable, f, y + space, _layout(f, lang, translated))
    image.paste(qr, ((WIDTH_PX - qr.width) // 2, y + 16))
    y += 16 + qr.height
    for text, f, space, translated in footer:
        if printable := _printable(text, f):
            y = _centered(draw, printable, f, y + space, _layout(f, lang, translated))
    return image.crop((0, 0, WIDTH_PX, y + 2 * _MARGIN))


def _centered(
    draw: ImageDraw.ImageDraw, text: str, font: _FontT, y: int, layout: dict[str, str]
) -> int:
    """Draw ``text`` centred, wrapped at word boundaries to the paper; returns the y below.
    Lines are wrapped in reading order, then each is laid out on its own: right to left
    within the line for Arabic, its first words on the first line."""
    for line in _wrap(draw, text, font, layout):
        bbox = draw.textbbox((0, 0), line, font=font, **layout)  # type: ignore[arg-type]
        left, top, right, bottom = (round(v) for v in bbox)
        draw.text(
            ((WIDTH_PX - (right - left)) // 2 - left, y - top),
            line,
            font=font,
            fill=0,
            **layout,  # type: ignore[arg-type]
        )
        y += bottom - top + 6
    return y


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: _FontT, layout: dict[str, str]) -> list[str]:
    usable = WIDTH_PX - 2 * _MARGIN
    for width in range(max(len(text), 1), 0, -1):
        lines = textwrap.wrap(text, width) or [""]
        if all(draw.textlength(line, font=font, **layout) <= usable for line in lines):  # type: ignore[arg-type]
            return lines
    return [text]


# --- outputs --------------------------------------------------------------------------------


class FilePrinter:
    """One PNG or PDF per ticket in a directory, named ``YYYYMMDD-A017.png``: numbers are
    unique per queue and day, so printing the same ticket again replaces its file."""

    def __init__(self, directory: Path, kind: str) -> None:
        if kind not in ("png", "pdf"):
            raise ValueError(f"unknown file kind {kind!r}")
        self.directory = directory
        self.kind = kind

    def print_ticket(self, ticket: PrintedTicket, lang: str) -> str:
        image = render(ticket, lang)
        target = (
            self.directory / f"{ticket.issued_at[:10].replace('-', '')}-{ticket.number}.{self.kind}"
        )
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed: whoever picks the file up never sees half a ticket.
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=f".{self.kind}")
            with os.fdopen(fd, "wb") as f:
                if self.kind == "pdf":
                    image.save(f, "PDF", resolution=DPI)
                else:
                    image.save(f, "PNG", dpi=(DPI, DPI))
            os.replace(tmp, target)
        except OSError as e:
            raise PrinterError(f"cannot write {target}: {e}") from e
        return str(target)


class EscposPrinter:
    """An ESC/POS printer (python-escpos): a device file or a network printer, opened per
    ticket so a printer that was switched off and on again just works for the next one."""

    def __init__(self, connect: Callable[[], Any], where: str) -> None:
        self._connect = connect
        self.where = where

    def print_ticket(self, ticket: PrintedTicket, lang: str) -> str:
        image = render(ticket, lang)
        try:
            printer = self._connect()
            # python-escpos' default profile does not know the paper width and then says
            # so on stdout for every image - stdout is what the person in front reads.
            printer.profile = copy.copy(printer.profile)
            printer.profile.profile_data = {
                **printer.profile.profile_data,
                "media": {"dpi": DPI, "width": {"mm": 72, "pixels": WIDTH_PX}},
            }
            try:
                printer.hw("INIT")
                printer.image(image, impl="bitImageRaster")
                printer.cut()
            finally:
                printer.close()
        except Exception as e:  # escpos raises its own errors, OSError and socket errors
            raise PrinterError(f"printer {self.where}: {e}") from e
        return self.where


def from_spec(spec: str) -> Printer:
    """``png:DIR``, ``pdf:DIR``, ``file:/dev/usb/lp0`` or ``network:HOST[:PORT]``."""
    kind, _, arg = spec.partition(":")
    if not arg:
        raise ValueError(f"{spec!r}: expected png:DIR, pdf:DIR, file:DEVICE or network:HOST[:PORT]")
    if kind in ("png", "pdf"):
        return FilePrinter(Path(arg), kind)
    # python-escpos is imported only when a printer is used: importing it takes half a
    # second, which a terminal writing PNG files would pay at every start for nothing.
    if kind == "file":
        from escpos.printer import File

        return EscposPrinter(lambda: File(arg), arg)
    if kind == "network":
        host, port = _host_port(arg)
        from escpos.printer import Network

        return EscposPrinter(lambda: Network(host, port, timeout=10), f"{host}:{port}")
    raise ValueError(f"{spec!r}: unknown printer kind {kind!r} (png, pdf, file, network)")


def _host_port(arg: str) -> tuple[str, int]:
    """``host`` or ``host:port``; 9100 is the raw printing port by custom."""
    host, _, port = arg.partition(":")
    if not port:
        return host, 9100
    if not port.isdecimal() or not 0 < int(port) < 65536:
        raise ValueError(f"{arg!r}: the port must be a number from 1 to 65535")
    return host, int(port)
