"""`waitboard-sensor terminal` against the real server: one press, exactly one ticket.

The agent runs in the test's event loop next to a real uvicorn on a fixed loopback port,
so the test can take the server away and bring it back; a small TCP proxy loses answers
on their way back. Presses come from a scripted button panel; tickets are PNG files.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import random
import re
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image
from redis.asyncio import Redis

from sensors import buttons
from sensors.api import Api, Issued, Refused, Unanswered, classify
from sensors.display import TEXTS, Display
from sensors.printing import FilePrinter, PrintedTicket, Printer, PrinterError, from_spec
from sensors.spool import Press, Refusal, Spool, SpoolError, State
from sensors.terminal import Agent, Retry
from tests.helpers import TIMEOUT, eventually, free_port, get_when, live_server, token, waiting
from waitboard.core.office import Office
from waitboard.i18n import Translator
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis

#: Retries fast enough that a test sees several of them, still jittered and bounded.
FAST_RETRY = Retry(first_s=0.05, max_s=0.5, give_up_after_s=600)
UNREACHABLE_DE = (
    "Der Server ist gerade nicht erreichbar – Ihr Ticket wird gedruckt, sobald er wieder antwortet."
)
UNREACHABLE_EN = (
    "The server cannot be reached right now – your ticket will be printed as "
    "soon as it answers again."
)


# --- the pieces around the agent -----------------------------------------------------------


class Panel:
    """A scripted button panel (a ButtonSource): the test presses, the agent reads."""

    def __init__(self) -> None:
        self._presses: asyncio.Queue[str | None] = asyncio.Queue()

    def press(self, *labels: str) -> None:
        for label in labels:
            self._presses.put_nowait(label)

    def unplug(self) -> None:
        self._presses.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[str]:
        while (label := await self._presses.get()) is not None:
            yield label


class Waitboard:
    """waitboard on a fixed loopback port that a test can stop and start: an outage."""

    def __init__(self, redis_url: str, office: Office) -> None:
        self.redis_url, self.office = redis_url, office
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._running: contextlib.AbstractAsyncContextManager[Any] | None = None

    async def start(self) -> None:
        cm = live_server(self.redis_url, self.office, port=self.port)
        await cm.__aenter__()
        self._running = cm

    async def stop(self) -> None:
        cm, self._running = self._running, None
        assert cm is not None, "not running"
        await cm.__aexit__(None, None, None)

    @property
    def running(self) -> bool:
        return self._running is not None


@pytest.fixture
async def waitboard(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> AsyncIterator[Waitboard]:
    server = Waitboard(redis_server.url, office)
    await server.start()
    yield server
    if server.running:
        await server.stop()


class FaultProxy:
    """A loopback TCP proxy in front of waitboard. It passes every request on, and can
    swallow the answers to POSTs: the server has acted, the terminal never hears of it."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.drop_post_answers = 0  # how many answers to POSTs to lose from now on
        self.dropped = 0
        self.post_keys: list[str] = []  # the Idempotency-Key of every POST passed on
        self.post_answers: list[bytes] = []  # the answers to POSTs that got through
        self.url = ""
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._connections:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _connection(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.transport.abort()
            return
        request = bytearray()  # the request the next answer belongs to

        async def requests() -> None:
            while data := await client_r.read(65536):
                if data.startswith(b"POST "):  # the headers come with the request line
                    key = re.search(rb"\r\nidempotency-key: *([^\r]+)", data, re.IGNORECASE)
                    self.post_keys.append(key.group(1).decode() if key else "")
                request.extend(data)
                server_w.write(data)
                await server_w.drain()
            server_w.close()

        async def answers() -> None:
            while data := await server_r.read(65536):
                is_post = request.startswith(b"POST ")
                if is_post and self.drop_post_answers > 0:
                    self.drop_post_answers -= 1
                    self.dropped += 1
                    client_w.transport.abort()  # lost on the way back
                    return
                if is_post:
                    self.post_answers.append(data)
                request.clear()
                client_w.write(data)
                await client_w.drain()

        try:
            await asyncio.gather(requests(), answers(), return_exceptions=True)
        finally:
            server_w.transport.abort()
            client_w.transport.abort()
            self._connections.discard(task)


class JammedPrinter:
    """A printer that never prints (paper jam, cover open)."""

    def print_ticket(self, ticket: PrintedTicket, lang: str) -> str:
        raise PrinterError("paper jam")


@dataclass
class Terminal:
    """The agent as it runs on a kiosk, with its spool, panel and screen at hand."""

    agent: Agent
    spool: Spool
    panel: Panel
    screen: io.StringIO
    tickets: Path
    task: asyncio.Task[None]

    async def until(self, predicate: Callable[[], bool], what: str) -> None:
        """Wait for ``predicate``; an agent that crashed meanwhile fails the test at once."""

        def check() -> bool:
            if self.task.done():
                self.task.result()  # raises what the agent died of
                pytest.fail(f"the agent ended while waiting for: {what}")
            return predicate()

        await eventually(check, what)

    def in_state(self, state: State) -> list[Press]:
        return self.spool.in_state(state)

    def files(self) -> list[str]:
        return sorted(p.name for p in self.tickets.glob("*.png")) if self.tickets.exists() else []


@contextlib.asynccontextmanager
async def terminal(
    tmp_path: Path, server_url: str, printer: Printer | None = None, lang: str = "de"
) -> AsyncIterator[Terminal]:
    """The agent for location sued with the terminal's token, PNG tickets in tmp_path."""
    spool = Spool.open(tmp_path / "spool.sqlite3")
    api = Api(server_url, token("terminal-sued"), timeout=TIMEOUT / 2)
    screen, panel, tickets = io.StringIO(), Panel(), tmp_path / "tickets"
    agent = Agent(
        api,
        spool,
        printer or FilePrinter(tickets, "png"),
        Display(lang, screen),
        "sued",
        server_url,
        lang=lang,
        retry=FAST_RETRY,
    )
    task = asyncio.create_task(agent.run(panel))
    try:
        yield Terminal(agent, spool, panel, screen, tickets, task)
    finally:
        if task.done():
            task.result()  # a crashed agent fails the test
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api.aclose()
        spool.close()


async def numbers_in_redis(redis: Redis) -> list[str]:
    """The numbers of every ticket the server holds for sued: what was really issued."""
    numbers = []
    async for key in redis.scan_iter(match=keys.ticket("sued", "*")):
        numbers.append((await redis.hget(key, "number")).decode())
    return sorted(numbers)


def numbers(presses: list[Press]) -> list[str]:
    return [p.ticket["number"] if p.ticket else "-" for p in presses]


# --- the acceptance ------------------------------------------------------------------------


async def test_presses_during_a_10_s_outage_each_yield_exactly_one_ticket(
    waitboard: Waitboard, redis: Redis, tmp_path: Path
) -> None:
    """Server down for 10 s while people press: once it is back, one ticket per press."""
    async with terminal(tmp_path, waitboard.url) as term:
        term.panel.press("A")
        await term.until(lambda: len(term.in_state(State.PRINTED)) == 1, "A001 before")
        await waitboard.stop()
        down = time.monotonic()
        # The scenario's script, not a wait for a condition: a press every 2 s while the
        # server is away, by queue id and by button number, in any case.
        for i, label in enumerate(["A", "2", "1", "b", "a"]):
            await asyncio.sleep(max(0.0, down + 2 * i - time.monotonic()))
            term.panel.press(label)
        await term.until(
            lambda: term.screen.getvalue().count(UNREACHABLE_DE) == 5,
            "every person told that the server is away",
        )
        await asyncio.sleep(max(0.0, down + 10 - time.monotonic()))  # the outage: 10 s
        pending = term.in_state(State.PENDING)
        assert [p.queue for p in pending] == ["A", "B", "A", "B", "A"]
        assert pending[0].attempts >= 5  # tried again and again, without an answer
        assert await numbers_in_redis(redis) == ["A001"]

        await waitboard.start()
        await term.until(lambda: len(term.in_state(State.PRINTED)) == 6, "every press printed")
        presses = term.spool.presses()
        files = term.files()
    # Exactly one ticket per press, numbered in the order of the presses, each printed.
    assert numbers(presses) == ["A001", "A002", "B001", "A003", "B002", "A004"]
    assert len({p.key for p in presses}) == 6
    assert await numbers_in_redis(redis) == ["A001", "A002", "A003", "A004", "B001", "B002"]
    day = presses[0].ticket["issued_at"][:10].replace("-", "")
    assert files == [f"{day}-{n}.png" for n in ("A001", "A002", "A003", "A004", "B001", "B002")]
    assert term.screen.getvalue().count(UNREACHABLE_EN) == 5
    async with httpx.AsyncClient(base_url=waitboard.url, timeout=TIMEOUT) as http:
        snap = await get_when(
            http,
            "/api/v1/locations/sued",
            lambda r: waiting(r.json()) == {"A": 4, "B": 2},
            "4 + 2 waiting",
        )
    assert waiting(snap.json()) == {"A": 4, "B": 2}


async def test_a_lost_answer_is_retried_with_the_same_key_and_issues_once(
    waitboard: Waitboard, redis: Redis, tmp_path: Path
) -> None:
    """The request reached the server but its answer was lost, twice: still one ticket."""
    async with FaultProxy(waitboard.port) as proxy, terminal(tmp_path, proxy.url) as term:
        proxy.drop_post_answers = 2
        term.panel.press("A")
        await term.until(lambda: len(term.in_state(State.PRINTED)) == 1, "the ticket printed")
        [press] = term.spool.presses()
        [png] = term.files()
    assert png.endswith("-A001.png")
    assert proxy.dropped == 2
    assert proxy.post_keys == [press.key] * 3  # three sends, one key
    assert press.attempts == 3 and press.ticket is not None and press.ticket["number"] == "A001"
    assert b"idempotent-replayed: true" in proxy.post_answers[-1].lower()  # the first answer
    assert await numbers_in_redis(redis) == ["A001"]


async def test_a_restarted_agent_sends_its_pending_presses_once_and_prints_them(
    waitboard: Waitboard, redis: Redis, tmp_path: Path
) -> None:
    """Presses left pending (one already issued unbeknown) are sent once at restart, printed."""
    async with FaultProxy(waitboard.port) as proxy:
        proxy.drop_post_answers = 1_000_000  # every answer lost
        async with terminal(tmp_path, proxy.url) as first:
            first.panel.press("A", "B")
            await first.until(lambda: proxy.dropped >= 2, "A sent twice, no answer")
            before = first.in_state(State.PENDING)
    assert [p.queue for p in before] == ["A", "B"]
    assert await numbers_in_redis(redis) == ["A001"]  # A reached the server; B waited behind

    async with terminal(tmp_path, waitboard.url) as second:
        await second.until(lambda: len(second.in_state(State.PRINTED)) == 2, "both printed")
        after = second.spool.presses()
        files = second.files()
    assert [p.key for p in after] == [p.key for p in before]
    assert numbers(after) == ["A001", "B001"]
    assert await numbers_in_redis(redis) == ["A001", "B001"]
    assert [f[-8:] for f in files] == ["A001.png", "B001.png"]


async def test_a_ticket_issued_but_not_printed_is_printed_at_the_next_start(
    waitboard: Waitboard, redis: Redis, tmp_path: Path
) -> None:
    """A jammed printer: the number is shown; the next start prints that very ticket."""
    async with terminal(tmp_path, waitboard.url, printer=JammedPrinter()) as first:
        first.panel.press("1")
        await first.until(
            lambda: "Der Drucker ist gestört" in first.screen.getvalue(),
            "the printer failure shown",
        )
        assert "Ihre Wartenummer ist A001" in first.screen.getvalue()
        assert numbers(first.in_state(State.ISSUED)) == ["A001"]
    async with terminal(tmp_path, waitboard.url) as second:
        await second.until(lambda: len(second.in_state(State.PRINTED)) == 1, "A001 printed")
        assert [f[-8:] for f in second.files()] == ["A001.png"]
    assert await numbers_in_redis(redis) == ["A001"]


async def test_a_ticket_stop_is_shown_and_not_retried(
    waitboard: Waitboard, redis: Redis, tmp_path: Path
) -> None:
    """Queue B at its ticket stop (3 waiting): the press is refused, explained, sent once."""
    async with FaultProxy(waitboard.port) as proxy, terminal(tmp_path, proxy.url) as term:
        term.panel.press("B", "B", "B")
        await term.until(lambda: len(term.in_state(State.PRINTED)) == 3, "B001-B003")
        term.panel.press("B", "A")
        # Presses are sent in order: A printed means the refused B is behind us for good.
        await term.until(lambda: len(term.in_state(State.PRINTED)) == 4, "A001 after it")
        [refused] = term.in_state(State.REFUSED)
        screen = term.screen.getvalue()
    assert refused.refusal is not None and refused.refusal.status == 409
    assert refused.refusal.code == "ticket_stop" and refused.attempts == 1
    assert proxy.post_keys.count(refused.key) == 1
    assert (
        "Kein Ticket für Leistungen: Ausgabestopp – bitte wenden Sie sich an den Empfang."
    ) in screen
    assert "No ticket for Benefits: No more tickets – please go to reception." in screen
    assert await numbers_in_redis(redis) == ["A001", "B001", "B002", "B003"]


async def test_an_unknown_queue_left_in_the_spool_is_refused_once(
    waitboard: Waitboard, redis: Redis, tmp_path: Path
) -> None:
    """A press for a queue that no longer exists (422) is refused at start-up, not retried."""
    spool = Spool.open(tmp_path / "spool.sqlite3")
    stale = spool.add("sued", "Z")
    spool.close()
    async with terminal(tmp_path, waitboard.url) as term:
        await term.until(lambda: bool(term.in_state(State.REFUSED)), "the refusal")
        [refused] = term.in_state(State.REFUSED)
    assert refused.key == stale.key and refused.attempts == 1
    assert refused.refusal is not None and refused.refusal.status == 422
    assert await numbers_in_redis(redis) == []


async def test_the_printed_png_carries_a_qr_code_of_the_ticket_url(
    waitboard: Waitboard, tmp_path: Path
) -> None:
    """The PNG is 576 px wide; its QR code decodes to the ticket's absolute URL, which opens."""
    async with terminal(tmp_path, waitboard.url) as term:
        term.panel.press("A")
        await term.until(lambda: len(term.in_state(State.PRINTED)) == 1, "the ticket printed")
        [press] = term.in_state(State.PRINTED)
        [png] = term.files()
    assert press.ticket is not None
    with Image.open(tmp_path / "tickets" / png) as image:
        assert image.width == 576
        codes = zxingcpp.read_barcodes(image)
    assert [c.text for c in codes] == [waitboard.url + press.ticket["url"]]
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        page = await http.get(codes[0].text)
    assert page.status_code == 200 and "A001" in page.text


async def test_a_terminal_in_ukrainian_speaks_it_and_its_qr_code_opens_the_page_in_it(
    waitboard: Waitboard, tmp_path: Path
) -> None:
    """An agent started with --lang uk: its screen in Ukrainian with German below for the
    staff, and the printed ticket's QR code opens the ticket page in Ukrainian."""
    uk, de = Translator("uk"), Translator("de")
    async with terminal(tmp_path, waitboard.url, lang="uk") as term:
        term.panel.press("A")
        await term.until(lambda: len(term.in_state(State.PRINTED)) == 1, "the ticket printed")
        [png] = term.files()
        screen = term.screen.getvalue()
    lead = uk.message(TEXTS["issued"], number="A001", queue="Eingangszone", ahead="")
    assert lead.strip() in screen, screen
    assert de.message(TEXTS["choose"], choices="").rstrip(": ") in screen
    with Image.open(tmp_path / "tickets" / png) as image:
        [code] = zxingcpp.read_barcodes(image)
    assert code.text.endswith("?lang=uk"), code.text
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        page = await http.get(code.text)
    assert page.status_code == 200 and '<html lang="uk"' in page.text


# --- the parts on their own -----------------------------------------------------------------


def test_buttons_resolve_by_number_and_by_queue_id() -> None:
    """Button 2 is the second queue, "b" is queue B; anything else is no queue at all."""
    queues = ["A", "B"]
    assert [buttons.resolve(label, queues) for label in ("1", "2", " b ", "A")] == [
        "A",
        "B",
        "B",
        "A",
    ]
    assert [buttons.resolve(label, queues) for label in ("0", "3", "C", "", "AB", "１")] == [
        None
    ] * 6


async def test_fifo_source_survives_its_writer_reopening(tmp_path: Path) -> None:
    """A GPIO daemon that closes and reopens the named pipe loses no press, sends no empty."""
    fifo = tmp_path / "buttons"
    got: list[str] = []

    async def read() -> None:
        async for label in buttons.FifoSource(fifo):
            got.append(label)

    async def write_once(chunk: bytes) -> None:
        """Open the pipe as a daemon does, write, close again."""
        fds: list[int] = []

        def opened() -> bool:
            if reader.done():
                reader.result()
            # Non-blocking: succeeds only once the source holds the pipe open for reading.
            with contextlib.suppress(OSError):
                fds.append(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            return bool(fds)

        await eventually(opened, "the source to hold the pipe open")
        os.write(fds[0], chunk)
        os.close(fds[0])

    reader = asyncio.create_task(read())
    try:
        for chunk in (b"A\n\n2\n", b" b \n" + b"x" * 1000 + b"\n1\n"):
            await write_once(chunk)
        await eventually(lambda: len(got) >= 4 or reader.done(), "four presses")
        assert got == ["A", "2", "b", "1"]
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


def test_answers_are_sorted_into_issued_refused_and_unanswered() -> None:
    """503/5xx and races are retried (Retry-After honoured); closed, stop, 422, 403 are not."""
    url = "http://w/api/v1/locations/sued/tickets"

    def answer(
        status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        return classify(
            httpx.Response(status, json=body, headers=headers, request=httpx.Request("POST", url))
        )

    assert isinstance(answer(201, {"number": "A001", "url": "/tickets/t_1"}), Issued)
    assert answer(503, {"code": "unavailable"}, {"Retry-After": "2"}) == Unanswered("HTTP 503", 2.0)
    assert isinstance(answer(500), Unanswered) and isinstance(answer(502), Unanswered)
    assert isinstance(answer(409, {"code": "in_flight"}), Unanswered)
    assert isinstance(answer(201, {"unexpected": True}), Unanswered)  # not from waitboard
    for status, code in (
        (409, "queue_closed"),
        (409, "ticket_stop"),
        (422, "invalid_request"),
        (403, "forbidden"),
        (401, "unauthorized"),
    ):
        refused = answer(status, {"code": code, "detail": "no"})
        assert isinstance(refused, Refused) and refused.refusal.code == code


def test_retry_delays_grow_with_jitter_and_stay_bounded() -> None:
    """Delays double from the first, vary between terminals, and never pass the maximum."""
    retry, rng = Retry(first_s=1.0, max_s=30.0), random.Random(7)
    first = [retry.delay(0, rng) for _ in range(50)]
    late = [retry.delay(n, rng) for n in range(6, 200)]
    assert all(0.5 <= d <= 1.0 for d in first) and len(set(first)) > 1
    assert all(15.0 <= d <= 30.0 for d in late)


def test_a_spool_is_durable_and_held_by_one_agent(tmp_path: Path) -> None:
    """A press survives closing the spool with its key; a second agent is turned away."""
    path = tmp_path / "spool.sqlite3"
    spool = Spool.open(path)
    press = spool.add("sued", "A")
    with pytest.raises(SpoolError, match="in use by another terminal agent"):
        Spool.open(path)
    spool.close()
    again = Spool.open(path)
    try:
        assert again.in_state(State.PENDING) == [press]
        # Looked at from the inside: the settings the durability rests on.
        assert again._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert again._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        again.refused(press.id, Refusal(409, "ticket_stop", "no"))
        with pytest.raises(SpoolError, match="is refused; it can become issued only"):
            again.issued(press.id, {"number": "A001"})
    finally:
        again.close()


SAMPLE = PrintedTicket(
    "Jobcenter Süd",
    "A017",
    "Eingangszone",
    "waiting",
    4,
    1260,
    "2026-11-25T08:03:11+01:00",
    "http://127.0.0.1:8000/tickets/t_x",
)


@pytest.mark.parametrize("kind", ["file", "network"])
async def test_escpos_printers_get_the_ticket_as_a_raster_image_and_a_cut(
    tmp_path: Path, kind: str
) -> None:
    """file:DEVICE and network:HOST:PORT receive init, a 576-dot raster image and a cut."""
    received = bytearray()
    server: asyncio.Server | None = None
    if kind == "file":
        device = tmp_path / "lp0"
        printer = from_spec(f"file:{device}")
    else:

        async def take(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            received.extend(await reader.read())
            writer.close()

        server = await asyncio.start_server(take, "127.0.0.1", 0)
        printer = from_spec(f"network:127.0.0.1:{server.sockets[0].getsockname()[1]}")
    try:
        await asyncio.to_thread(printer.print_ticket, SAMPLE, "de")
        if kind == "file":
            received.extend(device.read_bytes())
        else:
            await eventually(lambda: received.endswith(b"\x1dV\x00"), "the cut to arrive")
    finally:
        if server is not None:
            server.close()
    assert received.startswith(b"\x1b@\x1dv0\x00")  # ESC @, then GS v 0 (raster image)
    assert received[6:8] == (576 // 8).to_bytes(2, "little")  # 72 bytes = 576 dots a row
    assert received.endswith(b"\x1dV\x00")  # GS V: cut


def test_pdf_tickets_and_unusable_printer_specs(tmp_path: Path) -> None:
    """pdf:DIR writes one PDF per ticket; a wrong --printer is refused with the forms."""
    where = from_spec(f"pdf:{tmp_path}").print_ticket(SAMPLE, "en")
    assert Path(where).name == "20261125-A017.pdf"
    assert Path(where).read_bytes().startswith(b"%PDF")
    assert not list(tmp_path.glob(".*"))  # no half-written file left behind
    for spec in ("lp0", "usb:1", "network:host:port"):
        with pytest.raises(ValueError, match=r"png:DIR|unknown printer|port must"):
            from_spec(spec)


# --- the command ----------------------------------------------------------------------------


async def test_the_command_prints_a_ticket_and_never_shows_the_token(
    waitboard: Waitboard, redis: Redis, tmp_path: Path
) -> None:
    """The real command prints a stdin press, exits, never shows the token, has no --token."""
    secret = token("terminal-sued")
    env = {**os.environ, "WAITBOARD_DEVICE_TOKEN": secret}
    command = [
        str(Path(sys.executable).with_name("waitboard-sensor")),
        "terminal",
        "--server",
        waitboard.url,
        "--location",
        "sued",
        "--spool",
        str(tmp_path / "spool.sqlite3"),
        "--printer",
        f"png:{tmp_path / 'out'}",
    ]
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(b"A\n"), 3 * TIMEOUT)
    stdout, stderr = out.decode(), err.decode()
    assert proc.returncode == 0, stderr
    assert "Ihre Wartenummer: A001 (Eingangszone)" in stdout
    assert "Your number: A001 (Reception)" in stdout
    assert [p.name[-8:] for p in (tmp_path / "out").iterdir()] == ["A001.png"]
    assert secret not in stdout + stderr
    assert await numbers_in_redis(redis) == ["A001"]

    refused = await asyncio.create_subprocess_exec(
        *command,
        "--token",
        secret,
        cwd=tmp_path,
        env={k: v for k, v in env.items() if k != "WAITBOARD_DEVICE_TOKEN"},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(refused.communicate(), 3 * TIMEOUT)
    assert refused.returncode == 2 and "No such option '--token'" in err.decode()
