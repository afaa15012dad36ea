"""``waitboard-sensor terminal``: the ticket terminal agent on a kiosk in a public lobby.

A button press becomes exactly one ticket, even when the server is away for a while:

1. The press is written to the spool (:mod:`sensors.spool`) with a fresh Idempotency-Key
   and fsync'd; only then is anything sent.
2. ``POST /api/v1/locations/{location}/tickets`` with that key. A request that may have
   reached the server (no connection, timeout, lost answer, 5xx) is sent again later with
   the SAME key: the server answers a known key with the ticket it issued the first time.
   A definitive no (closed, ticket stop, unknown queue, forbidden) is shown, never retried.
3. The ticket is printed (:mod:`sensors.printing`) and marked printed. A crash between
   printing and marking prints the same ticket again at the next start: paper at least
   once, tickets exactly once.

Presses are sent one at a time in the order they were made, so numbers follow the order
in which people pressed. The agent speaks only the HTTP API, with a terminal's token.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from sensors import buttons, printing
from sensors.api import TOKEN_ENV, Api, Issued, Refused, Unanswered, read_token
from sensors.buttons import ButtonSource
from sensors.display import TEXTS, Display
from sensors.printing import PrintedTicket, Printer, PrinterError
from sensors.spool import Press, Refusal, Spool, SpoolError, State
from waitboard import logs
from waitboard.core.languages import CITIZEN_LANGUAGES, DEFAULT
from waitboard.core.marks import N_, Message
from waitboard.i18n import Translator
from waitboard.labels import ERRORS

log = logging.getLogger(__name__)

#: The server keeps an Idempotency-Key's answer for 24 h; a press sent later than that
#: could be issued twice. The agent gives up on a press long before.
MAX_GIVE_UP_S = 12 * 3600.0

#: Refusals a person can make sense of, and the catalog text that says it; any other
#: (a bug, a wrong configuration) gets the generic text and is in the log.
_REFUSAL_TEXTS: dict[str, Message] = {
    "ticket_stop": N_("Ausgabestopp – bitte wenden Sie sich an den Empfang."),
    "queue_closed": ERRORS[("queue_closed", None)],
    "invalid_request": ERRORS[("invalid_request", None)],
    "forbidden": ERRORS[("forbidden", None)],
    "unauthorized": ERRORS[("unauthorized", None)],
}


# --- the agent ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Retry:
    """When a request that got no answer is tried again."""

    first_s: float = 1.0
    max_s: float = 30.0
    #: A press not issued (or a ticket not printed) this long after the press is given up:
    #: the person has gone, and a ticket nobody holds only makes the counters wait.
    give_up_after_s: float = 3600.0

    def delay(self, failures: int, rng: random.Random) -> float:
        """Exponential up to ``max_s``, jittered: terminals that lost the server together
        do not all come back in the same second."""
        ceiling = min(self.max_s, self.first_s * 2.0 ** min(failures, 30))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass
class Agent:
    """One terminal: takes presses, sends them through the spool, prints the tickets."""

    api: Api
    spool: Spool
    printer: Printer
    display: Display
    location: str
    public_url: str
    lang: str = "de"
    retry: Retry = field(default_factory=Retry)
    refresh_s: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()
        self._done = asyncio.Event()
        self._inputs_ended = False
        self._names: dict[str, Any] | None = None  # location and queue names, cached
        self._deadlines: dict[int, float] = {}  # press id -> monotonic give-up time
        self._present: set[int] = set()  # presses made in this run: someone may be there
        self._told_unreachable: set[int] = set()
        self._failures = 0  # attempts without an answer since the last answer
        self._retry_after_s = 0.0  # what the server asked for with its last 503

    async def run(self, source: ButtonSource) -> None:
        """Finish what the spool holds, then turn every press into a ticket; returns when
        the source has ended and no press is pending (never, for a named pipe)."""
        self._take_over_spool()
        await self._refresh_names()
        # Issued before a crash or with the printer down, and not too old (see above).
        for press in self.spool.in_state(State.ISSUED):
            await self._print(press)
        self._show_choices()
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._send_loop())
            tasks.create_task(self._refresh_loop())
            await self._take_presses(source)
            self._inputs_ended = True
            self._wake.set()

    # --- start-up ---------------------------------------------------------------------------

    def _take_over_spool(self) -> None:
        """Deadlines for what an earlier run left; what is already too old is given up (a
        ticket printed for someone long gone would only confuse the next person)."""
        now_wall, now = time.time(), time.monotonic()
        self.spool.prune(before=now_wall - 7 * 24 * 3600)
        for press in [*self.spool.in_state(State.PENDING), *self.spool.in_state(State.ISSUED)]:
            # A clock that went backwards makes a press look new, never lost.
            left = self.retry.give_up_after_s - max(0.0, now_wall - press.pressed_at)
            if left <= 0:
                self._expire(press)
            else:
                self._deadlines[press.id] = now + left
        log.info(
            "spool taken over",
            extra={
                "pending": len(self.spool.in_state(State.PENDING)),
                "unprinted": len(self.spool.in_state(State.ISSUED)),
            },
        )

    # --- presses ----------------------------------------------------------------------------

    async def _take_presses(self, source: ButtonSource) -> None:
        async for label in source:
            if not self._names:
                self.display.text("not_ready")
                continue
            queue = buttons.resolve(label, [q["id"] for q in self._names["queues"]])
            if queue is None:
                self._show_no_such_button(label)
                continue
            press = self.spool.add(self.location, queue)  # on disk before anything else
            self._deadlines[press.id] = time.monotonic() + self.retry.give_up_after_s
            self._present.add(press.id)
            log.info("press", extra={"press": press.id, "queue": queue})
            if self._failures:  # known to be away: say so now, not after another attempt
                self._tell_unreachable(press.id)
            self._wake.set()

    async def _send_loop(self) -> None:
        while True:
            self._wake.clear()  # before looking, so a press made meanwhile wakes us again
            pending = self.spool.in_state(State.PENDING)
            if not pending:
                if self._inputs_ended:
                    self._done.set()
                    return
                await self._wake.wait()
                continue
            for press in pending:
                if not await self._send(press):
                    # No answer: the server is away for the rest of them too. The oldest
                    # goes first again, so numbers stay in the order of the presses.
                    delay = self.retry.delay(self._failures - 1, self.rng)
                    await asyncio.sleep(max(delay, min(self._retry_after_s, self.retry.max_s)))
                    break

    async def _send(self, press: Press) -> bool:
        """One attempt for one press; ``False`` when it is still pending afterwards."""
        if time.monotonic() >= self._deadlines.get(press.id, float("inf")):
            self._expire(press)
            return True
        self.spool.attempted(press.id)
        answer = await self.api.issue(press)
        self._retry_after_s = 0.0
        match answer:
            case Issued(ticket):
                if self._failures:
                    log.info("server answers again", extra={"failures": self._failures})
                self._failures = 0
                press = self.spool.issued(press.id, ticket)
                log.info(
                    "issued",
                    extra={
                        "press": press.id,
                        "number": ticket["number"],
                        "attempts": press.attempts,
                    },
                )
                await self._print(press)
                return True
            case Refused(refusal):
                self.spool.refused(press.id, refusal)
                log.warning(
                    "refused",
                    extra={
                        "press": press.id,
                        "queue": press.queue,
                        "status": refusal.status,
                        "code": refusal.code,
                    },
                )
                self._show_refusal(press, refusal)
                return True
            case Unanswered(reason, retry_after_s):
                self._failures += 1
                self._retry_after_s = retry_after_s
                log.warning(
                    "no answer; will retry with the same key",
                    extra={"press": press.id, "reason": reason, "failures": self._failures},
                )
                for p in self.spool.in_state(State.PENDING):
                    self._tell_unreachable(p.id)
                return False
        raise AssertionError(answer)  # pragma: no cover - the match is exhaustive

    def _expire(self, press: Press) -> None:
        self.spool.expired(press.id)
        log.warning(
            "given up",
            extra={
                "press": press.id,
                "state": press.state.value,
                "age_s": round(time.time() - press.pressed_at),
            },
        )

    # --- printing ---------------------------------------------------------------------------

    async def _print(self, press: Press) -> None:
        assert press.ticket is not None
        ticket = self._printed_ticket(press.ticket)
        self.display.say(
            lambda t: t.message(
                TEXTS["issued"],
                number=ticket.number,
                queue=self._queue_name(t, press.ticket or {}),
                ahead=(
                    t("Vor Ihnen: {n}", n=(ticket.position or 1) - 1)
                    + ", "
                    + t("Wartezeit: {wait}", wait=t.wait(ticket.estimated_wait_s))
                    if ticket.status == "waiting"
                    else t("Bitte achten Sie auf die Anzeige im Wartebereich.")
                ),
            )
        )
        try:
            # Rendering and a network printer take a while; the lobby should not freeze.
            where = await asyncio.to_thread(self.printer.print_ticket, ticket, self.lang)
        except PrinterError as e:
            log.error(
                "print failed", extra={"press": press.id, "number": ticket.number, "error": str(e)}
            )
            self.display.text("printer", number=ticket.number)
            return
        self.spool.printed(press.id)
        log.info("printed", extra={"press": press.id, "number": ticket.number, "to": where})
        self.display.say(lambda t: t("Bitte nehmen Sie Ihr Ticket."))

    def _printed_ticket(self, ticket: dict[str, Any]) -> PrintedTicket:
        url = str(ticket["url"])
        if self.lang != DEFAULT:  # (the QR code opens the ticket page in the terminal's language)
            url += f"{'&' if '?' in url else '?'}lang={self.lang}"
        t = Translator(self.lang)
        return PrintedTicket(
            location_name=_name_in(t, self._names["location"]) if self._names else self.location,
            number=str(ticket["number"]),
            queue_name=self._queue_name(t, ticket),
            status=str(ticket.get("status", "waiting")),
            position=ticket.get("position"),
            estimated_wait_s=ticket.get("estimated_wait_s"),
            issued_at=str(ticket["issued_at"]),
            url=url if url.startswith(("https://", "http://")) else self.public_url + url,
        )

    # --- what the location looks like --------------------------------------------------------

    async def _refresh_names(self) -> None:
        """The location's and queues' names from the server, else from the last start:
        buttons keep working while the server is away."""
        found = await self.api.names(self.location)
        if found is not None:
            names = {"location": found["location"], "queues": found["queues"]}
            if names != self._names:
                self.spool.remember(f"names:{self.location}", names)
                changed = self._names is not None
                self._names = names
                if changed:
                    self._show_choices()
        elif self._names is None:
            self._names = self.spool.recall(f"names:{self.location}")

    async def _refresh_loop(self) -> None:
        while not self._done.is_set():
            # Without any names yet the terminal cannot take a press: ask again soon.
            interval = self.refresh_s if self._names else min(self.refresh_s, 5.0)
            try:
                await asyncio.wait_for(self._done.wait(), interval)
            except TimeoutError:
                await self._refresh_names()

    def _queue_name(self, t: Translator, ticket: dict[str, Any]) -> str:
        queues = self._names["queues"] if self._names else []
        queue = next((q for q in queues if q["id"] == ticket.get("queue")), None)
        return _name_in(t, queue) if queue else str(ticket.get("queue", ""))

    # --- messages ---------------------------------------------------------------------------

    def _choices(self, t: Translator) -> str:
        queues = self._names["queues"] if self._names else []
        return ", ".join(f"{i} = {q['id']} {_name_in(t, q)}" for i, q in enumerate(queues, 1))

    def _show_choices(self) -> None:
        if not self._names:
            self.display.text("not_ready")
            return
        self.display.say(lambda t: t.message(TEXTS["choose"], choices=self._choices(t)))

    def _show_no_such_button(self, label: str) -> None:
        self.display.say(
            lambda t: t.message(TEXTS["no_such_button"], label=label[:20], choices=self._choices(t))
        )

    def _tell_unreachable(self, press_id: int) -> None:
        """Once per press, and only to someone who pressed in this run."""
        if press_id in self._present and press_id not in self._told_unreachable:
            self._told_unreachable.add(press_id)
            self.display.text("unreachable")

    def _show_refusal(self, press: Press, refusal: Refusal) -> None:
        if press.id not in self._present:
            return

        def reason(t: Translator) -> str:
            return t.message(_REFUSAL_TEXTS.get(refusal.code, ERRORS[("generic", None)]))

        self.display.say(
            lambda t: t.message(
                TEXTS["refused"],
                queue=self._queue_name(t, {"queue": press.queue}),
                reason=reason(t),
            )
        )


def _name_in(t: Translator, thing: dict[str, Any]) -> str:
    """A name in the translator's language, as the server gave it for each language (names
    remembered by an older agent carry German and English only)."""
    names = thing.get("names") or {}
    if t.lang in names:
        return str(names[t.lang])
    return t.name(thing)


# --- the command ----------------------------------------------------------------------------


@click.command("terminal")
@click.option(
    "--server", required=True, help="Address of waitboard, e.g. https://wartezeiten.example.de"
)
@click.option("--location", required=True, help="The location this terminal stands in.")
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"File holding the terminal's device token (else ${TOKEN_ENV}).",
)
@click.option(
    "--spool",
    "spool_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("terminal-spool.sqlite3"),
    show_default=True,
    help="Where presses are kept until their ticket is printed.",
)
@click.option(
    "--printer",
    "printer_spec",
    default="png:tickets",
    show_default=True,
    help="png:DIR | pdf:DIR | file:/dev/usb/lp0 | network:HOST[:PORT]",
)
@click.option(
    "--input",
    "input_spec",
    default="keyboard",
    show_default=True,
    help="keyboard (a queue id or 1..n per line) | fifo:PATH (the same, from a GPIO daemon)",
)
@click.option("--lang", type=click.Choice(CITIZEN_LANGUAGES), default="de", show_default=True)
@click.option(
    "--public-url",
    help="Address for the QR code on the ticket (default: --server); "
    "a terminal may reach the server by an internal name.",
)
@click.option(
    "--give-up-after",
    type=click.IntRange(1, int(MAX_GIVE_UP_S // 60)),
    default=60,
    show_default=True,
    help="Minutes after a press when it is given up if it is "
    "still not issued (at start-up: not printed).",
)
def command(
    server: str,
    location: str,
    token_file: Path | None,
    spool_path: Path,
    printer_spec: str,
    input_spec: str,
    lang: str,
    public_url: str | None,
    give_up_after: int,
) -> None:
    """A ticket terminal: one press, one printed ticket - also through a server outage."""
    logs.configure("WARNING")  # python-escpos logs every opened printer at INFO
    logging.getLogger("sensors").setLevel(logging.INFO)
    if not server.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint="--server")
    token = read_token(token_file)
    try:
        printer = printing.from_spec(printer_spec)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--printer") from e
    printing.check_fonts()  # which languages it cannot print, and what to install
    source = buttons.source_from_spec(input_spec)
    try:
        spool = Spool.open(spool_path)
    except SpoolError as e:
        raise click.ClickException(str(e)) from e
    retry = Retry(give_up_after_s=give_up_after * 60.0)
    try:
        asyncio.run(
            _serve(
                server.rstrip("/"),
                token,
                location,
                spool,
                printer,
                source,
                lang,
                (public_url or server).rstrip("/"),
                retry,
            )
        )
    finally:
        spool.close()


async def _serve(
    server: str,
    token: str,
    location: str,
    spool: Spool,
    printer: Printer,
    source: ButtonSource,
    lang: str,
    public_url: str,
    retry: Retry,
) -> None:
    api = Api(server, token)
    agent = Agent(
        api=api,
        spool=spool,
        printer=printer,
        display=Display(lang),
        location=location,
        public_url=public_url,
        lang=lang,
        retry=retry,
    )
    task = asyncio.current_task()
    assert task is not None
    # systemd stops the kiosk with SIGTERM: end like Ctrl-C, closing the spool cleanly.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await agent.run(source)
    except asyncio.CancelledError:
        log.info("stopped", extra={"pending": len(spool.in_state(State.PENDING))})
    finally:
        await api.aclose()
