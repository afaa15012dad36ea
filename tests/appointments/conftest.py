"""The appointment tests' running waitboard (see support.Env)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from tests.appointments.support import Env
from tests.helpers import (
    MONDAY_8,
    TIMEOUT,
    SettableClock,
    live_server,
    office_with_appointments,
)
from waitboard.store.embedded import EmbeddedRedis


@pytest.fixture
async def env(redis_server: EmbeddedRedis, redis: Redis) -> AsyncIterator[Env]:
    clock = SettableClock(MONDAY_8)
    async with (
        live_server(redis_server.url, office_with_appointments(), clock=clock) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        yield Env(http, clock, redis, srv.url)
