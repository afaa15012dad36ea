"""How long applications are kept: every process dates the decided ones and sweeps the
deleted ones off the caseworkers' list, for the service's lifetime.
"""

from __future__ import annotations

import asyncio
import logging

from waitboard.core.errors import Unavailable
from waitboard.store.applications import ApplicationStore

log = logging.getLogger(__name__)

#: How often each process sweeps: a deleted application's number leaves the caseworkers'
#: list within this time (its status and history are gone at the minute).
SWEEP_EVERY_S = 600.0


async def sweep_forever(store: ApplicationStore, every_s: float = SWEEP_EVERY_S) -> None:
    """Date the decisions that have no deletion date (once), then sweep now and every
    ``every_s``, for the service's lifetime. Every process does; a sweep that finds
    nothing due costs one cheap script call."""
    dated = False
    while True:
        try:
            if not dated:
                scheduled = await store.schedule_undated()
                dated = True
                if scheduled:
                    log.info(
                        "decided applications given a deletion date", extra={"count": scheduled}
                    )
            removed = await store.sweep()
            if removed:
                log.info("deleted applications left the recent list", extra={"count": removed})
                await store.rewrite_append_only_file()
        except Unavailable:
            pass  # Redis away: the next round takes what is due then
        await asyncio.sleep(every_s)
