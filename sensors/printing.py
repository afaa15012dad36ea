"""Tickets on paper, or as files when no printer is attached: one rendering, many outputs.

Every ticket is drawn once as an image the width of an 80 mm thermal printer's print head
(576 dots at 203 dpi), laid out like the ticket reception prints from its page; an
ESC/POS printer gets that image, a directory gets it as PNG or PDF. One rendering means
the QR code and the umlauts come out the same everywhere, whatever code page a printer has.
"""

from __future__ import annotations

import copy
import io
import os
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import segno
from PIL import Image, ImageDraw, ImageFont

from waitboard.i18n import Translator

#: 80 mm paper, 72 mm printable at 203 dpi.
WIDTH_PX = 576
DPI = 203
_MARGIN = 24
_FontT = ImageFont.FreeTypeFont | ImageFont.ImageFont


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


@cache
def _font(size: int, bold: bool = False) -> _FontT:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(name, size)
    except OSError:
        # A kiosk image without DejaVu: Pillow's own scalable font (Latin-1, umlauts too).
        return ImageFont.load_default(size)


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
    """The ticket as a greyscale image, ``WIDTH_PX`` wide, as tall as its content."""
    t = Translator(lang)
    date, time = ticket.issued_at[:10], ticket.issued_at[11:16]
    lines: list[tuple[str, _FontT, int]] = [  # text, font, space above
        (ticket.location_name, _font(30, bold=True), 0),
        (t.pgettext("print.title", "Wartenummer").upper(), _font(24), 14),
        (ticket.number, _font(150, bold=True), 4),
        (ticket.queue_name, _font(40, bold=True), 10),
    ]
    if ticket.status == "waiting":
        ahead = (ticket.position - 1) if ticket.position else 0
        lines += [
            (t("Vor Ihnen: {n}", n=ahead), _font(30), 22),
            (t("Wartezeit: {wait}", wait=t.wait(ticket.estimated_wait_s)), _font(30), 6),
        ]
    day = f"{date[8:10]}.{date[5:7]}.{date[:4]}"  # (dots in both languages, as printed so far)
    lines.append(
        (
            t("{date}, {time} Uhr", date=day, time=time),
            _font(24),
            14,
        )
    )
    qr = _qr(ticket.url, 300)
    footer = [
        (t("Scannen Sie den Code, um Ihre Wartezeit auf dem Handy zu verfolgen."), _font(22), 10),
        (t("Bitte achten Sie auf die Anzeige im Wartebereich."), _font(24), 16),
    ]

    image = Image.new("L", (WIDTH_PX, 2400), 255)
    draw = ImageDraw.Draw(image)
    y = _MARGIN
    for text, font, space in lines:
        y = _centered(draw, text, font, y + space)
    image.paste(qr, ((WIDTH_PX - qr.width) // 2, y + 16))
    y += 16 + qr.height
    for text, font, space in footer:
        y = _centered(draw, text, font, y + space)
    return image.crop((0, 0, WIDTH_PX, y + 2 * _MARGIN))


def _centered(draw: ImageDraw.ImageDraw, text: str, font: _FontT, y: int) -> int:
    """Draw ``text`` centred, wrapped at word boundaries to the paper; returns the y below."""
    for line in _wrap(draw, text, font):
        left, top, right, bottom = (round(v) for v in draw.textbbox((0, 0), line, font=font))
        draw.text(((WIDTH_PX - (right - left)) // 2 - left, y - top), line, font=font, fill=0)
        y += bottom - top + 6
    return y


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: _FontT) -> list[str]:
    usable = WIDTH_PX - 2 * _MARGIN
    for width in range(max(len(text), 1), 0, -1):
        lines = textwrap.wrap(text, width) or [""]
        if all(draw.textlength(line, font=font) <= usable for line in lines):
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
