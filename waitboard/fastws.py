"""Fan-out without per-client work: WebSocket frames encoded once, written directly.

A lobby and its phones all receive the same snapshot. Through ASGI, every client would
cost a task switch, a text encode and a frame build per snapshot; instead the hub encodes
the frame once (:func:`text_frame`) and writes the same bytes to each client's transport.

:class:`FastWebSocketProtocol` is uvicorn's WebSocket protocol with one addition: it puts a
:class:`RawSocket` into the ASGI scope (extension ``waitboard.raw``) so the endpoint can
hand it to the hub. The handshake, pings, the client's messages and the close stay
uvicorn's; server frames are whole and unmasked, so writing them between uvicorn's own is
safe. Under another ASGI server the extension is absent and :mod:`waitboard.live` sends
through ASGI as usual.
"""

from __future__ import annotations

import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

EXTENSION = "waitboard.raw"
PROTOCOL = "waitboard.fastws:FastWebSocketProtocol"  # for uvicorn's ``ws`` setting


def text_frame(payload: bytes) -> bytes:
    """One unmasked, final text frame (RFC 6455 section 5.2), as a server sends it."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    return header + payload


class RawSocket:
    """The connection's transport, for frames the hub has already encoded."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    def write(self, frame: bytes, max_buffered: int) -> bool:
        """Queue ``frame`` unless the client has fallen behind by more than
        ``max_buffered`` bytes (then False: the caller drops it). Never blocks."""
        protocol = self._protocol
        transport = protocol.transport
        if protocol.close_sent or transport.is_closing():
            return True  # going away anyway; its disconnect follows
        if transport.get_write_buffer_size() > max_buffered:
            return False
        transport.write(frame)
        return True

    def abort(self) -> None:
        """Drop the connection now, unsent data and all (a client that stopped reading
        would otherwise hold its buffer until TCP gives up)."""
        self._protocol.transport.abort()


class FastWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope: Any = getattr(self, "scope", None)
        if scope is not None:  # a refused handshake has no scope; the app never runs
            scope["extensions"][EXTENSION] = RawSocket(self)

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and self.response is not None:
            # The handshake's request and response, headers and all, are not needed again,
            # and a connection lives for hours: let them go.
            self.request = self.response = None  # type: ignore[assignment]
