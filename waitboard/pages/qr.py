"""QR codes for printed tickets, rendered on the server as inline SVG."""

from __future__ import annotations

import segno


def svg(url: str, title: str) -> str:
    """An SVG (no XML declaration, scales with CSS) that leads to ``url``."""
    code = segno.make(url, error="m")
    markup: str = code.svg_inline(scale=4, border=2, title=title, svgclass="qr", omitsize=True)
    # An image to assistive technology, named by its <title> (a bare SVG is just a group).
    return markup.replace("<svg ", '<svg role="img" ', 1)
