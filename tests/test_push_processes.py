"""A server process killed while a push message is still to be sent: another process,
started afterwards with the same Redis and the same VAPID key, sends it - once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.helpers import TIMEOUT, ServeProcess, auth, eventually
from tests.push_service import PushService, Reply, running_push_service
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.redis import connect as redis_connect


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    async with running_push_service() as service:
        yield service


def vapid_key_file(tmp: Path) -> Path:
    """The operator's key, shared by every server process (WAITBOARD_VAPID_PRIVATE_KEY_FILE)."""
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp / "vapid.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


async def test_a_message_left_by_a_killed_process_is_sent_by_the_next(
    redis_server: EmbeddedRedis,
    tmp_path: Path,
    serve_processes: Callable[..., ServeProcess],
    push_service: PushService,
) -> None:
    env = {
        "WAITBOARD_REDIS_URL": redis_server.url,
        "WAITBOARD_PUSH_ALLOW_LOOPBACK": "1",
        "WAITBOARD_VAPID_PRIVATE_KEY_FILE": str(vapid_key_file(tmp_path)),
        "WAITBOARD_VAPID_CONTACT": "mailto:it@jobcenter.example",
    }
    first = serve_processes(env)
    async with httpx.AsyncClient(base_url=first.url, timeout=TIMEOUT) as http:
        r = await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
        )
        ticket = r.json()
        key = (await http.get("/api/v1/push/key")).json()["public_key"]
        sub = push_service.new_subscription(key)
        # The push service is busy for the first try: the message waits in Redis.
        push_service.answer_next(sub, Reply(503, retry_after=2))
        r = await http.post(f"/api/v1/tickets/{ticket['id']}/subscriptions", json=sub)
        assert r.status_code == 201
    await push_service.wait_for_requests(1)
    # Killed once the message is back on the schedule (due in 2 s, not held for a lease:
    # a process that dies holding one is tests/test_jobs.py's).
    jobs = redis_connect(redis_server.url)
    try:

        async def rescheduled() -> bool:
            due = await jobs.zrange(keys.job_schedule(), 0, -1, withscores=True)
            return len(due) == 1 and due[0][1] < time.time() * 1000 + 10_000

        await eventually(rescheduled, "the busy message to wait on the schedule")
    finally:
        await jobs.aclose()
    assert first.proc is not None
    os.killpg(first.proc.pid, signal.SIGKILL)  # no goodbye, nothing finished
    first.proc.wait()

    second = serve_processes(env)
    assert second.port != first.port
    [soon] = await push_service.wait_for_messages(sub, 1)
    assert soon.payload["type"] == "soon" and soon.payload["ticket_id"] == ticket["id"]
    assert soon.topic  # the message's id as its topic: a repeat replaces, never doubles
    assert soon.vapid_key == key  # the operator's key, the same in both processes
    assert soon.claims["sub"] == "mailto:it@jobcenter.example"
    assert [q.status for q in push_service.requests] == [503, 201]
