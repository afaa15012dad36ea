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
from waitboard.settings import Settings

if TYPE_CHECKING:
    # (Types only: the container holds the parts; it does not depend on them.)
    from waitboard.live.hub import Hub
    from waitboard.services.applications import Applications
    from waitboard.services.auth import DeviceRegistry
    from waitboard.services.push import Push
    from waitboard.services.reminders import Reminders
    from waitboard.services.staff_sign_in import StaffSignIn
    from waitboard.store.limits import Limiter
    from waitboard.store.office_store import Store


class Background:
    """Work a request started that outlives it (e.g. a file rewrite after a deletion): held
    here, so the loop keeps it, and cancelled when the app stops."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@dataclass
class AppContext:
    settings: Settings
    office: Office
    devices: DeviceRegistry
    metrics: Metrics
    clock: Clock
    store: Store
    hub: Hub
    #: The rate limits' counting, shared by every process (the policy: services.limits).
    limiter: Limiter
    applications: Applications
    background: Background = field(default_factory=Background)
    #: Web Push for tickets (None until the app has started it).
    push: Push | None = None
    #: Appointment reminders by e-mail; None without WAITBOARD_SMTP_URL.
    reminders: Reminders | None = None
    #: Staff sign-in through the office's OpenID Connect provider; None without [sign_in].
    sign_in: StaffSignIn | None = None

    def location(self, location_id: str) -> Location:
        loc = self.office.location_by_id.get(location_id)
        if loc is None:
            known = ", ".join(self.office.location_by_id)
            raise NotFound(f"There is no location '{location_id[:60]}'. Locations: {known}.")
        return loc


def context(conn: HTTPConnection) -> AppContext:
    ctx: AppContext = conn.app.state.ctx
    return ctx
