"""Where button presses come from: the keyboard, or a named pipe a GPIO daemon writes to.

A source only says which button was pressed, as the label a person or a daemon typed
("A", "2"); which queue that means is :func:`resolve`'s business, given the location's
queues. Both sources are line-based: one press per line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

import click

log = logging.getLogger(__name__)

#: A line longer than this is not a button press (a daemon gone wrong); it is skipped.
MAX_LINE = 256


class ButtonSource(Protocol):
    """An async iterator of presses, in the order they happened. It may end (keyboard
    input closed) or run for ever (a named pipe)."""

    def __aiter__(self) -> AsyncIterator[str]: ...


def resolve(label: str, queues: Sequence[str]) -> str | None:
    """The queue a label means: the n-th queue for "n" (1-based), or a queue id in any
    case ("a" -> "A"); ``None`` when it means none of them."""
    label = label.strip()
    if label.isascii() and label.isdigit() and len(label) <= 3:  # not "１" or "²"
        n = int(label)
        return queues[n - 1] if 1 <= n <= len(queues) else None
    return next((q for q in queues if q.casefold() == label.casefold()), None)


class KeyboardSource:
    """Presses typed on standard input (or piped into it); ends when the input ends."""

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdin.buffer

    async def __aiter__(self) -> AsyncIterator[str]:
        fd = self._stream.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            # Input redirected from a file: reading it never waits, and an event loop
            # cannot watch a regular file anyway.
            for raw in self._stream:
                if label := _label(raw):
                    yield label
            return
        async for label in _pipe_lines(fd):
            yield label


class FifoSource:
    """Presses a GPIO daemon writes, one per line, into a named pipe (created if missing).
    Runs for ever: the daemon may close and reopen the pipe, e.g. when it restarts."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def __aiter__(self) -> AsyncIterator[str]:
        if not self.path.exists():
            # Owner reads; the daemon, in the owner's group, writes; nobody else presses.
            os.mkfifo(self.path, 0o620)
        if not stat.S_ISFIFO(self.path.stat().st_mode):
            raise ValueError(f"{self.path} is not a named pipe (create one with mkfifo)")
        # Opened for reading AND writing: while we hold a write end ourselves, the pipe
        # never reports end-of-file when the daemon closes it, and open() does not block
        # until a writer appears. (Linux semantics; POSIX leaves O_RDWR on a FIFO open.)
        fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)
        try:
            async for label in _pipe_lines(fd):
                yield label
        finally:
            os.close(fd)


async def _pipe_lines(fd: int) -> AsyncIterator[str]:
    """Labels from a pipe, tty or socket, read without blocking the event loop."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE)
    # The transport closes the file it is given: hand it a duplicate, so the caller's
    # descriptor (stdin, say) stays open. The duplicate shares the O_NONBLOCK flag that
    # the transport sets, so the original blocking mode is put back at the end: a shell
    # that gets the terminal back expects blocking reads.
    was_blocking = os.get_blocking(fd)
    pipe = os.fdopen(os.dup(fd), "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        while True:
            try:
                raw = await reader.readline()
            except ValueError:  # longer than MAX_LINE: the reader has dropped it
                log.warning("input line too long; ignored", extra={"limit": MAX_LINE})
                continue
            if not raw:
                return
            if label := _label(raw):
                yield label
    finally:
        transport.close()
        os.set_blocking(fd, was_blocking)


def _label(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").strip()[:MAX_LINE]


def source_from_spec(spec: str, option: str = "--input") -> ButtonSource:
    """``keyboard`` or ``fifo:PATH`` (a named pipe, as a GPIO daemon writes)."""
    if spec == "keyboard":
        return KeyboardSource()
    kind, _, path = spec.partition(":")
    if kind == "fifo" and path:
        fifo = Path(path)
        if fifo.exists() and not stat.S_ISFIFO(fifo.stat().st_mode):
            raise click.BadParameter(
                f"{path} is not a named pipe (create one with mkfifo)", param_hint=option
            )
        return FifoSource(fifo)
    raise click.BadParameter(f"{spec!r}: expected keyboard or fifo:PATH", param_hint=option)
