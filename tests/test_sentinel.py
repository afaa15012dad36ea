"""Redis Sentinel: a failover under way loses no acknowledged ticket and reissues no
number, when commands wait for a replica (WAITBOARD_REDIS_WAIT_REPLICAS=1)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from tests.helpers import TIMEOUT, Report, auth, free_port, live_server
from waitboard.core.office import Office
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis, find_redis_server


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, object]]:
    """A master, two replicas (AOF each) and one Sentinel watching them, on loopback."""
    ports = {name: free_port() for name in ("master", "r1", "r2", "sentinel")}
    master = EmbeddedRedis(tmp_path / "master", tcp_port=ports["master"]).start()
    replicas = [
        EmbeddedRedis(
            tmp_path / name,
            tcp_port=ports[name],
            extra_args=("--replicaof", "127.0.0.1", str(ports["master"])),
        ).start()
        for name in ("r1", "r2")
    ]
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {ports['sentinel']}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor wb 127.0.0.1 {ports['master']} 1\n"
        "sentinel down-after-milliseconds wb 1000\n"
        "sentinel failover-timeout wb 4000\n"
    )
    sentinel = subprocess.Popen(
        [find_redis_server(), str(conf), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield {"ports": ports, "master": master, "replicas": replicas}
    finally:
        sentinel.terminate()
        sentinel.wait(10)
        for server in (master, *replicas):
            server.stop()


async def master_port(sentinel_port: int) -> int:
    client = aioredis.Redis(port=sentinel_port)
    try:
        _, port = await client.execute_command("SENTINEL", "get-master-addr-by-name", "wb")
        return int(port)
    finally:
        await client.aclose()


async def test_failover_loses_no_acknowledged_ticket(
    cluster: dict[str, object], office: Office, report: Report
) -> None:
    """Kill the master mid-service: after the failover every acknowledged ticket is on the
    new master and numbering continues without a repeat."""
    ports: dict[str, int] = cluster["ports"]  # type: ignore[assignment]
    master: EmbeddedRedis = cluster["master"]  # type: ignore[assignment]
    deadline = time.monotonic() + 3 * TIMEOUT
    while await master_port(ports["sentinel"]) != ports["master"]:  # sentinel is up
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    for replica in ("r1", "r2"):  # both replicas in sync before we start
        client = aioredis.Redis(port=ports[replica])
        while (await client.info("replication")).get("master_link_status") != "up":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        await client.aclose()

    url = f"redis+sentinel://127.0.0.1:{ports['sentinel']}/wb"
    acknowledged: dict[str, str] = {}
    async with (
        live_server(url, office, redis_wait_replicas=1) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):

        async def issue(key: str) -> httpx.Response:
            return await http.post(
                "/api/v1/locations/sued/tickets",
                json={"queue": "A"},
                headers={**auth("terminal-sued"), "Idempotency-Key": key},
            )

        for i in range(15):
            r = await issue(f"before-{i}")
            assert r.status_code == 201
            acknowledged[f"before-{i}"] = r.json()["number"]
        master.kill()
        killed = time.monotonic()
        while await master_port(ports["sentinel"]) == ports["master"]:
            assert time.monotonic() - killed < 3 * TIMEOUT, "no failover"
            await asyncio.sleep(0.2)
        failed_over_s = time.monotonic() - killed
        for i in range(10):
            for _ in range(100):  # bounded: the service follows the new master soon
                r = await issue(f"after-{i}")
                if r.status_code == 201:
                    break
                assert r.status_code == 503
                await asyncio.sleep(0.2)
            assert r.status_code == 201
            acknowledged[f"after-{i}"] = r.json()["number"]
        recovered_s = time.monotonic() - killed

        new_master = aioredis.Redis(port=await master_port(ports["sentinel"]))
        try:
            ids = await new_master.zrange(keys.queue("sued", "A"), 0, -1)
            numbers = [
                await new_master.hget(keys.ticket("sued", i.decode()), "number") for i in ids
            ]
        finally:
            await new_master.aclose()
    assert sorted(n.decode() for n in numbers) == sorted(acknowledged.values())
    assert len(set(acknowledged.values())) == len(acknowledged)  # no number twice
    report(
        f"injected: SIGKILL of the Sentinel-managed master after 15 tickets; measured: "
        f"failover after {failed_over_s:.1f} s, tickets again {recovered_s:.1f} s after "
        f"the kill, all {len(acknowledged)} acknowledged tickets on the new master, "
        f"numbers unique"
    )
