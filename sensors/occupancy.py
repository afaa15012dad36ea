"""``waitboard-sensor occupancy``: a people counter at the door of a waiting zone.

It reads what the counter sees, one line at a time, from the keyboard or a named pipe (as
the counter's daemon writes): an absolute count (``12``) or movements (``+1`` someone came
in, ``-1`` someone left). It reports the count when it changed - at most every
``--min-interval`` seconds - and again every minute, so the server knows it is alive (a
count older than ten minutes is not shown). The count never goes below zero. While the
server is away it keeps counting and reports the latest count when it is back: only the
latest count matters, so nothing is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path

import click
import httpx

from sensors import buttons
from sensors.api import read_token
from waitboard import logs

log = logging.getLogger(__name__)

#: The most people a zone can hold as far as this agent believes (a runaway daemon).
MAX_COUNT = 100_000


@dataclass
class Count:
    """The people in the zone, from absolute counts and movements (pure)."""

    value: int | None = None

    def apply(self, line: str) -> bool:
        """Take one line; False when it is not a count or a movement (it is ignored)."""
        text = line.strip()
        if not text or len(text) > 12:
            return False
        sign = text[0] in "+-"
        digits = text[1:] if sign else text
        if not digits.isascii() or not digits.isdigit():
            return False
        number = int(digits)
        if sign:
            delta = number if text[0] == "+" else -number
            self.value = max(0, (self.value or 0) + delta)
        else:
            self.value = number
        self.value = min(self.value, MAX_COUNT)
        return True


class ReportRefused(Exception):
    """The server said no for good (wrong token, zone or role): a setup problem."""


async def report(http: httpx.AsyncClient, location: str, zone: str, count: int) -> bool:
    """True when the server took the count; False when it could not be reached (try
    again); ReportRefused when it refused it."""
    try:
        r = await http.post(
            f"/api/v1/locations/{location}/occupancy", json={"zone": zone, "count": count}
        )
    except httpx.HTTPError as e:
        log.info("server not reachable", extra={"reason": type(e).__name__})
        return False
    if r.status_code == 200:
        return True
    if r.status_code >= 500 or r.status_code in (408, 429):
        return False
    try:
        detail = r.json().get("detail", r.text[:200])
    except ValueError:
        detail = r.text[:200]
    raise ReportRefused(f"HTTP {r.status_code}: {detail}")


async def run(
    http: httpx.AsyncClient,
    location: str,
    zone: str,
    lines: AsyncIterable[str],
    min_interval_s: float = 5.0,
    alive_every_s: float = 60.0,
    stop_when_read: bool = False,
) -> int | None:
    """Count from ``lines`` and report. Returns the last count reported (when the lines
    end and ``stop_when_read``); runs for ever otherwise."""
    count = Count()
    changed = asyncio.Event()
    done_reading = asyncio.Event()

    async def read() -> None:
        async for line in lines:
            if count.apply(line):
                changed.set()
            else:
                log.warning("not a count or movement, ignored", extra={"line": line[:20]})
        done_reading.set()
        changed.set()

    reader = asyncio.create_task(read())
    reported: int | None = None
    last_report = 0.0
    failures = 0
    try:
        while True:
            # A change, or time to say "still so".
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), alive_every_s)
            changed.clear()
            await asyncio.sleep(max(0.0, last_report + min_interval_s - time.monotonic()))
            if count.value is not None and (
                count.value != reported or time.monotonic() - last_report >= alive_every_s
            ):
                value = count.value
                if await report(http, location, zone, value):
                    reported, last_report, failures = value, time.monotonic(), 0
                else:
                    failures += 1
                    changed.set()  # try again after a pause
                    await asyncio.sleep(min(30.0, 2.0 ** min(failures, 5)) * random.uniform(0.5, 1))  # noqa: S311
                    continue
            if stop_when_read and done_reading.is_set() and count.value == reported:
                return reported
    finally:
        reader.cancel()


@click.command("occupancy")
@click.option("--server", required=True, help="Address of waitboard.")
@click.option("--location", required=True)
@click.option("--zone", required=True, help="The zone id from the office configuration.")
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the sensor's device token (else $WAITBOARD_DEVICE_TOKEN).",
)
@click.option(
    "--input",
    "input_spec",
    default="keyboard",
    show_default=True,
    help="keyboard | fifo:PATH - one count (12) or movement (+1, -1) per line",
)
@click.option(
    "--min-interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0, 600),
    help="Seconds between reports at least.",
)
def command(
    server: str,
    location: str,
    zone: str,
    token_file: Path | None,
    input_spec: str,
    min_interval: float,
) -> None:
    """Report how many people are in a waiting zone (a people counter's agent)."""
    logs.configure()
    token = read_token(token_file)
    source = buttons.source_from_spec(input_spec)

    async def main() -> None:
        async with httpx.AsyncClient(
            base_url=server, timeout=10, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            await run(
                http, location, zone, source, min_interval, stop_when_read=input_spec == "keyboard"
            )

    try:
        asyncio.run(main())
    except ReportRefused as e:
        raise click.ClickException(f"the server refused the count: {e}") from None
