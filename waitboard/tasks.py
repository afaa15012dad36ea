"""Background loops that must not die: supervised, restarted with a back-off, logged."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

#: The first pause before a failed loop starts again, and the longest.
FIRST_RESTART_S, MAX_RESTART_S = 1.0, 30.0
#: A loop that ran this long before it failed was healthy: it restarts after the first pause.
HEALTHY_AFTER_S = 60.0


async def supervise(name: str, loop: Callable[[], Awaitable[None]]) -> None:
    """Run ``loop`` for ever: log what makes it fail and start it again, a second later
    and twice as long after each failure in a row (up to MAX_RESTART_S), until the task is
    cancelled - also if the loop turned its cancellation into an error of its own (a
    library closing a connection on the way out, say)."""
    pause = FIRST_RESTART_S
    while True:
        started = time.monotonic()
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except Exception:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from None
            if time.monotonic() - started >= HEALTHY_AFTER_S:
                pause = FIRST_RESTART_S
            log.exception(
                "background loop failed; restarting it",
                extra={"loop": name, "restart_in_s": pause},
            )
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_RESTART_S)
