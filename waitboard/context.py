"""The parts of a running app, wired once in ``create_app`` and reached from requests."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection

from waitboard.core.clock import Clock
from waitboard.core.errors import NotFound
from waitboard.core.office import Location, Office
from waitboard.metrics import Metrics
from waitboard.services.auth import DeviceRegistry
from waitboard.settings import Settings

if TYPE_CHECKING:
    from waitboard.live.hub import Hub
    from waitboard.store.limits import Limiter
    from waitboard.store.tickets import Store


@dataclass
class AppContext:
    settings: Settings
    office: Office
    devices: DeviceRegistry
    metrics: Metrics
    clock: Clock
    store: Store
    hub: Hub
    #: The rate limits' counting, shared by every process (the policy: ratelimit.py).
    limiter: Limiter
    #: Work a request started that outlives it (e.g. a file rewrite after a deletion): held
    #: here, so the loop keeps it, and cancelled when the app stops.
    background: set[asyncio.Task[None]] = field(default_factory=set)

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def stop_background(self) -> None:
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)

    def location(self, location_id: str) -> Location:
        loc = self.office.location_by_id.get(location_id)
        if loc is None:
            known = ", ".join(self.office.location_by_id)
            raise NotFound(f"There is no location '{location_id[:60]}'. Locations: {known}.")
        return loc


def context(conn: HTTPConnection) -> AppContext:
    ctx: AppContext = conn.app.state.ctx
    return ctx
