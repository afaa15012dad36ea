"""The parts of a running app, wired once in ``create_app`` and reached from requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from waitboard.auth import DeviceRegistry
from waitboard.clock import Clock
from waitboard.config import Location, Office
from waitboard.errors import NotFound
from waitboard.metrics import Metrics
from waitboard.settings import Settings

if TYPE_CHECKING:
    from waitboard.hub import Hub
    from waitboard.store import Store


@dataclass
class AppContext:
    settings: Settings
    office: Office
    devices: DeviceRegistry
    metrics: Metrics
    clock: Clock
    store: Store
    hub: Hub

    def location(self, location_id: str) -> Location:
        loc = self.office.location_by_id.get(location_id)
        if loc is None:
            known = ", ".join(self.office.location_by_id)
            raise NotFound(f"There is no location '{location_id[:60]}'. Locations: {known}.")
        return loc


def context(conn: HTTPConnection) -> AppContext:
    ctx: AppContext = conn.app.state.ctx
    return ctx
