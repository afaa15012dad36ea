"""Fan-out without per-client work: WebSocket frames encoded once, written directly.

A lobby and its phones all receive the same snapshot. Through ASGI, every client would
cost a task switch, a text encode and a frame build per snapshot; instead the hub encodes
the frame once (:func:`text_frame`) and writes the same bytes to each client's transport.

:class:`FastWebSocketProtocol` is uvicorn's WebSocket protocol with two additions. It puts
a :class:`RawSocket` into the ASGI scope (extension ``waitboard.raw``) so the endpoint can
hand it to the hub; server frames are whole and unmasked, so writing them between
uvicorn's own is safe. And the endpoint can *detach* the connection: the ASGI app returns,
and the connection lives on without a task, coroutines, scope or receive queue - a lobby
screen stays for hours, a phone for the whole wait. The handshake, pings and the close
stay uvicorn's. Under another ASGI server the extension is absent and
:mod:`waitboard.live.endpoints` sends through ASGI as usual.
"""

from __future__ import annotations

import struct
from asyncio import Transport
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

from waitboard.live.actions import Kind, Message

EXTENSION = "waitboard.raw"
PROTOCOL = "waitboard.live.wire:FastWebSocketProtocol"  # for uvicorn's ``ws`` setting


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


@dataclass(frozen=True, slots=True)
class OutFrame:
    """A message for many clients, encoded once: as text (for ASGI) and as the WebSocket
    frame (written as is by :class:`RawSocket`)."""

    kind: Kind
    text: str
    wire: bytes

    @classmethod
    def of(cls, message: Message) -> OutFrame:
        return cls(message.kind, message.payload.decode(), text_frame(message.payload))


class Encoded(Protocol):
    @property
    def wire(self) -> bytes:
        """A whole WebSocket frame (:func:`text_frame`)."""


def _nobody() -> None:
    pass


class RawSocket:
    """One client as a hub subscriber: the frames the hub has encoded once are written to
    its transport as they are.

    Fan-out to thousands of screens calls :meth:`offer` once per client and frame, so it
    touches as little as it can: this object and the transport. A client that has fallen
    behind by more than ``max_buffered`` bytes is cut off (``on_slow`` is told) instead
    of holding a growing buffer; it reconnects and gets the current snapshot.
    """

    __slots__ = ("_detach", "_transport", "closed", "max_buffered", "on_slow")

    def __init__(
        self,
        transport: Transport,
        detach: Callable[[Callable[[], None]], bool],
        max_buffered: int = 256 * 1024,
    ) -> None:
        self._transport = transport
        self._detach = detach
        self.max_buffered = max_buffered
        self.on_slow: Callable[[], None] = _nobody
        # Set once a close frame went out (no data frame may follow it) or the client was
        # cut off.
        self.closed = False

    def detach(self, on_close: Callable[[], None]) -> bool:
        """Let the ASGI app return while the connection stays open; ``on_close`` runs
        when it ends. The client's messages are dropped from then on. False (and nothing
        changes) if the connection has ended already.

        A screen stays connected for hours, and an app waiting on ``receive()`` holds its
        task, its coroutines, the scope and the receive queue all that time."""
        return self._detach(on_close)

    def offer(self, frame: Encoded) -> None:
        """Queue the frame; never blocks."""
        if self.closed:
            return
        transport = self._transport
        if transport.is_closing():
            return  # going away anyway; its disconnect follows
        if transport.get_write_buffer_size() > self.max_buffered:
            self.closed = True
            # Unsent data and all: a client that stopped reading would otherwise hold its
            # buffer until TCP gives up.
            transport.abort()
            self.on_slow()
            return
        transport.write(frame.wire)


class _Discard:
    """The receive queue of a detached connection: nobody reads it any more."""

    def put_nowait(self, message: Any) -> None:
        pass

    def empty(self) -> bool:
        return True


class FastWebSocketProtocol(WebSocketsSansIOProtocol):
    _raw: RawSocket | None = None
    _close_sent = False
    _on_close: Callable[[], None] | None = None

    # uvicorn sets ``close_sent`` wherever it sends a close frame; the raw socket learns
    # it at that moment, so that fan-out never needs to look at the protocol.
    @property
    def close_sent(self) -> bool:
        return self._close_sent

    @close_sent.setter
    def close_sent(self, value: bool) -> None:
        self._close_sent = value
        if value and self._raw is not None:
            self._raw.closed = True

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope: Any = getattr(self, "scope", None)
        if scope is not None:  # a refused handshake has no scope; the app never runs
            self._raw = RawSocket(self.transport, self._detach)
            scope["extensions"][EXTENSION] = self._raw

    def _detach(self, on_close: Callable[[], None]) -> bool:
        if self.disconnected or self.transport.is_closing() or not self.handshake_complete:
            return False
        self._on_close = on_close
        self.queue = _Discard()  # type: ignore[assignment]
        del self.scope  # headers and all: not needed again
        return True

    def send_receive_event_to_app(self) -> None:
        if self._on_close is not None:
            # Detached: the message is dropped, and reading goes on (uvicorn would pause
            # reading until the app takes it, and then pongs and the close went unread).
            self.frames = []
            return
        super().send_receive_event_to_app()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    async def run_asgi(self) -> None:
        """uvicorn's, except that a detached connection stays open when the app returns."""
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self.send_500_response()
        else:
            if not self.handshake_complete:
                self.logger.error("ASGI callable returned without completing handshake.")
                self.send_500_response()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
        if self.close_timer is None and self._on_close is None:
            self.transport.close()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and self.response is not None:
            # The handshake's request and response, headers and all, are not needed again,
            # and a connection lives for hours: let them go. The request's headers are
            # emptied too, as the parser of websockets keeps the request to the end.
            self.request.headers.clear()
            self.request = self.response = None  # type: ignore[assignment]
