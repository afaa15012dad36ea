"""The connection to Redis and the way every call reaches it: within a deadline, never
retried by redis-py itself, Redis failing turned into
:class:`~waitboard.core.errors.Unavailable` with a sentence that says whether the change may
have happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson
from redis import exceptions as rx
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

from waitboard.core.errors import Unavailable
from waitboard.store import scripts

log = logging.getLogger(__name__)

#: Requests must fail fast when Redis is gone or hangs (screens show their stale banner
#: instead): every call ends within this, waiting for a connection included.
DEADLINE_S = 2.0
SOCKET_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 1.0
T = TypeVar("T")


def connect(url: str, *, password: str | None = None, max_connections: int = 64) -> Redis:
    """A client for commands.

    It never retries by itself: a retried EVALSHA after a timeout could issue a ticket
    twice; clients retry with their Idempotency-Key instead. When all connections are busy
    a request waits for one (up to the socket timeout) rather than failing at once.
    ``redis+sentinel://host:26379,host:26379/service[/db]`` finds the master through
    Redis Sentinel and follows it through failovers.
    """
    if url.startswith("redis+sentinel://"):
        return _sentinel_master(url, password, max_connections)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=SOCKET_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        **({"password": password} if password else {}),
    )
    return Redis.from_pool(pool)


def _sentinel_master(url: str, password: str | None, max_connections: int) -> Redis:
    parts = urlsplit(url)
    hosts = []
    for item in parts.netloc.rsplit("@", 1)[-1].split(","):
        host, _, port = item.rpartition(":")
        hosts.append((host or item, int(port) if port else 26379))
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise ValueError(f"{url}: name the Sentinel service, e.g. redis+sentinel://h:26379/wb")
    password = password or parts.password
    options: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
    }
    sentinel = Sentinel(
        hosts,
        sentinel_kwargs={**options, "password": password},  # type: ignore[no-untyped-call]
        **options,
    )
    master: _SentinelMaster = sentinel.master_for(
        path[0],
        redis_class=_SentinelMaster,
        retry=Retry(NoBackoff(), 0),
        password=password,
        db=int(path[1]) if len(path) > 1 else 0,
        max_connections=max_connections,
    )
    master.finder = sentinel
    return master


class _SentinelMaster(Redis):
    """The master's client. Closing it also closes the connections to the Sentinels, which
    redis-py's Sentinel keeps open for finding the master and never closes by itself."""

    finder: Sentinel | None = None  # set by _sentinel_master

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for client in self.finder.sentinels if self.finder else ():
            await client.aclose()


def register_scripts(client: Redis, names: Iterable[str]) -> dict[str, AsyncScript]:
    """Scripts by name (:func:`waitboard.store.scripts.source`), to run on ``client`` by
    EVALSHA; redis-py loads one again when Redis has forgotten it."""
    return {name: client.register_script(scripts.source(name)) for name in names}


async def run_script(
    name: str,
    script: AsyncScript,
    script_keys: list[str],
    payload: dict[str, Any],
    client: Redis,
    wait_replicas: int = 0,
) -> Any:
    """One Lua script within the deadline (after ``wait_replicas`` replicas have it, when
    asked); Redis failing becomes :class:`Unavailable`, saying whether it may have run."""
    try:
        async with asyncio.timeout(DEADLINE_S):
            if wait_replicas:
                return await run_replicated(client, script, script_keys, payload, wait_replicas)
            return await script(keys=script_keys, args=[orjson.dumps(payload)], client=client)
    except (TimeoutError, rx.TimeoutError) as e:
        raise Unavailable(
            "Redis did not answer in time; the request may or may not have been carried "
            "out. Retry with the same Idempotency-Key to be sure it happens once."
        ) from e
    except (rx.ConnectionError, rx.BusyLoadingError, OSError) as e:
        # The connection may have broken after the script reached Redis: only the
        # Idempotency-Key can tell. Not reached at all is the common case.
        raise Unavailable(
            "Redis is not reachable right now. Try again in a moment; retry with the "
            "same Idempotency-Key, so that a request that did go through is not carried "
            "out twice."
        ) from e
    except rx.ResponseError as e:
        # MISCONF (disk full), READONLY (failover in progress) and the like. Only the
        # kind of refusal is logged: the message may quote the script's arguments.
        log.error(
            "redis refused a script", extra={"script": name, "error": str(e).split(" ", 1)[0][:40]}
        )
        raise Unavailable(
            "Redis refused the change; nothing was changed. Try again in a moment."
        ) from e


async def run_replicated(
    redis: Redis,
    script: AsyncScript,
    script_keys: list[str],
    payload: dict[str, Any],
    wait_replicas: int,
) -> Any:
    """A script acknowledged only once ``wait_replicas`` replicas have it: the script and
    WAIT on one connection (WAIT covers that connection's writes), so a failover cannot
    lose what was acknowledged."""
    async with redis.pipeline(transaction=False) as pipe:
        await script(keys=script_keys, args=[orjson.dumps(payload)], client=pipe)
        pipe.wait(wait_replicas, int(DEADLINE_S * 500))
        raw, replicas = await pipe.execute()
    if int(replicas) < wait_replicas:
        raise Unavailable(
            f"Only {replicas} of {wait_replicas} Redis replicas confirmed the change in "
            "time; it may or may not last. Retry with the same Idempotency-Key."
        )
    return raw


async def read(call: Awaitable[T]) -> T:
    """A read (or a plain command that is safe to repeat) within the deadline; Redis
    failing becomes :class:`Unavailable`."""
    try:
        async with asyncio.timeout(DEADLINE_S):
            return await call
    except (
        TimeoutError,
        rx.TimeoutError,
        rx.ConnectionError,
        rx.BusyLoadingError,
        OSError,
    ) as e:
        raise Unavailable("Redis is not reachable right now; please try again in a moment.") from e
    except rx.ResponseError as e:
        log.error("redis refused a read", extra={"error": str(e).split(" ", 1)[0][:40]})
        raise Unavailable("Redis refused the request; please try again in a moment.") from e
