"""Outbound jobs on a real Redis: each sent at least once by whichever process claims it,
never added twice, tried again after a busy receiver, given up after its attempts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from waitboard.core.retries import MAX_ATTEMPTS, backoff_s, next_try_s, retry_after_s
from waitboard.services.jobs import Gone, JobRunner, Later, Sent
from waitboard.store import keys
from waitboard.store.jobs import Job, Jobs

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T0 = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.ms = T0

    def __call__(self) -> int:
        return self.ms


async def test_a_job_is_added_once_and_not_again_after_it_was_sent(redis: Redis) -> None:
    jobs = Jobs(redis)
    assert await jobs.add("push:s1:soon", "push", {"n": 1}, T0)
    assert not await jobs.add("push:s1:soon", "push", {"n": 2}, T0)  # (waiting: refused)
    [job] = await jobs.claim(T0, 1000, 10)
    assert (job.id, job.kind, job.body, job.attempt) == ("push:s1:soon", "push", {"n": 1}, 1)
    await jobs.finish(job.id)
    assert not await jobs.add("push:s1:soon", "push", {"n": 3}, T0)  # (done lately)
    assert await jobs.pending() == 0
    assert await redis.exists(keys.job("push:s1:soon")) == 0  # (nothing of it kept)


async def test_a_claimed_job_is_held_for_its_lease_then_due_again(redis: Redis) -> None:
    jobs = Jobs(redis)
    await jobs.add("a", "push", {}, T0)
    assert len(await jobs.claim(T0, 5000, 10)) == 1
    assert await jobs.claim(T0 + 4999, 5000, 10) == []  # another process: held
    [again] = await jobs.claim(T0 + 5000, 5000, 10)  # the holder died: due again
    assert again.attempt == 2


async def test_a_job_is_not_due_before_its_time(redis: Redis) -> None:
    jobs = Jobs(redis)
    await jobs.add("later", "mail", {}, T0 + 60_000)
    assert await jobs.claim(T0, 1000, 10) == []
    assert [j.id for j in await jobs.claim(T0 + 60_000, 1000, 10)] == ["later"]


def test_job_ids_are_checked_before_they_become_keys() -> None:
    with pytest.raises(ValueError, match="not a job id"):
        keys.job("a}b")
    with pytest.raises(ValueError, match="not a job id"):
        keys.job("")


async def test_the_runner_sends_retries_and_gives_up(redis: Redis) -> None:
    jobs, clock = Jobs(redis), Clock()
    answers: dict[str, list[object]] = {
        "ok": [Sent()],
        "busy": [Later("7"), Sent()],
        "gone": [Gone("expired")],
        "broken": [RuntimeError("bug")] * MAX_ATTEMPTS,
    }
    seen: list[tuple[str, int]] = []
    outcomes: list[tuple[str, str]] = []

    async def send(job: Job) -> object:
        seen.append((job.id, job.attempt))
        answer = answers[job.id].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    runner = JobRunner(
        jobs,
        {"push": send},  # type: ignore[dict-item]
        now_ms=clock,
        on_outcome=lambda kind, outcome: outcomes.append((kind, outcome)),
    )
    for job_id in answers:
        await jobs.add(job_id, "push", {}, T0)
    await jobs.add("stray", "unknown-kind", {}, T0)
    assert await runner.run_once() == 5
    assert sorted(seen) == [("broken", 1), ("busy", 1), ("gone", 1), ("ok", 1)]
    # The busy one asked for 7 s, more than the back-off: not due before.
    clock.ms = T0 + 6_999
    await runner.run_once()
    assert ("busy", 2) not in seen
    clock.ms = T0 + 7_000
    await runner.run_once()
    assert ("busy", 2) in seen
    # The broken one is tried until its attempts are used up, then given up.
    for _ in range(MAX_ATTEMPTS):
        clock.ms += int(backoff_s(MAX_ATTEMPTS) * 1000)
        await runner.run_once()
    assert [s for s in seen if s[0] == "broken"][-1] == ("broken", MAX_ATTEMPTS)
    assert ("push", "given_up") in outcomes
    assert ("push", "gone") in outcomes
    assert ("unknown-kind", "retry") in outcomes  # (left for a process that can send it)
    assert await jobs.pending() == 0


def test_backoff_doubles_and_is_bounded() -> None:
    assert [backoff_s(a) for a in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert backoff_s(30) == 300.0


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_s("120", NOW) == 120.0
    assert retry_after_s("Mon, 02 Mar 2026 09:01:00 GMT", NOW) == 60.0
    assert retry_after_s("soon", NOW) is None
    assert retry_after_s(None, NOW) is None
    assert retry_after_s("999999", NOW) == 3600.0
    assert next_try_s(1, "30", NOW) == 30.0
    assert next_try_s(MAX_ATTEMPTS, None, NOW) is None


def test_a_retry_after_that_is_no_number_is_ignored_not_fatal() -> None:
    assert retry_after_s("²", NOW) is None  # (a digit to str.isdigit(), not to float())
    assert retry_after_s("1e999", NOW) is None
    assert next_try_s(2, "²", NOW) == backoff_s(2)
