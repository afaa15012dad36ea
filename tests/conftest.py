"""Shared fixtures: a real Redis, a real uvicorn on a free port, one timeout for waiting.

Nothing here is a mock: the Redis is the embedded ``redis-server`` (the same one
``waitboard serve`` starts), flushed before every test; servers are real uvicorn
processes or tasks on loopback ports.

The helpers the tests import are in tests/helpers.py; Playwright is imported only by the
browser tests, through tests/browser.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.helpers import (
    OFFICE_PATH,
    SATURDAY,
    TIMEOUT,
    WEEKDAYS,
    LiveServer,
    Report,
    ServeProcess,
    SettableClock,
    live_server,
    office_with_hours,
)
from tests.oidc_provider import OidcProvider
from waitboard.core.office import Office
from waitboard.settings import load_office
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.redis import connect as redis_connect

# --- measured figures -----------------------------------------------------------------------

#: Lines of measured figures, printed in the "measured" section at the end of the run
#: (pytest captures stdout, so a print would never be seen).
MEASURED = pytest.StashKey[list[str]]()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Report:
    """``report("injected: ...; measured: ...")``: one line for the end-of-run summary."""
    lines = request.config.stash.setdefault(MEASURED, [])
    return lambda line: lines.append(f"{request.node.nodeid}: {line.strip()}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A pytest-xdist worker hands its measured lines to the controller, which prints them."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["measured"] = session.config.stash.get(MEASURED, [])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    lines = getattr(node, "workeroutput", {}).get("measured", [])
    node.config.stash.setdefault(MEASURED, []).extend(lines)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    lines = sorted(config.stash.get(MEASURED, []))
    if lines:
        terminalreporter.section("measured")
        for line in lines:
            terminalreporter.write_line(line)


# --- Redis ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
async def redis(redis_server: EmbeddedRedis) -> AsyncIterator[Redis]:
    client = redis_connect(redis_server.url)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def office() -> Office:
    return load_office(OFFICE_PATH)


@pytest.fixture
async def server(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> AsyncIterator[LiveServer]:
    async with live_server(redis_server.url, office) as srv:
        yield srv


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A real Chromium; Playwright is imported only when a test asks for one."""
    from tests.browser import chromium

    async with chromium() as b:
        yield b


@pytest.fixture
def serve_processes(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    started: list[ServeProcess] = []

    def start(env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> ServeProcess:
        p = ServeProcess(tmp_path, env, args).start()
        started.append(p)
        return p

    yield start
    for p in started:
        if p.proc is not None and p.proc.poll() is None:
            p.stop()


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(SATURDAY)


@pytest.fixture
async def closed_server(
    redis_server: EmbeddedRedis, redis: Redis, clock: SettableClock
) -> AsyncIterator[LiveServer]:
    """waitboard on a Saturday, with Süd open on weekdays only."""
    async with live_server(redis_server.url, office_with_hours(WEEKDAYS), clock=clock) as srv:
        yield srv


# --- an OpenID Connect provider -------------------------------------------------------------


@pytest.fixture(scope="session")
def oidc_provider_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """One node-oidc-provider per test session and xdist worker, on a port of its own."""
    with OidcProvider(tmp_path_factory.mktemp("oidc")) as provider:
        yield provider


@pytest.fixture
def oidc_provider(oidc_provider_process: OidcProvider) -> OidcProvider:
    """The OpenID provider as it started: real time, the users' groups of users.json, the
    client as configured, no sessions or tokens (tests/oidc_provider.py)."""
    oidc_provider_process.reset()
    return oidc_provider_process
