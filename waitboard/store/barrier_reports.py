"""Reports of barriers, kept for the office's staff (:mod:`waitboard.core.barriers`).

Each report is a hash with a time to live; the list is a sorted set by time. Writing both
is one MULTI transaction, so a report is in the list exactly when it exists. Marking it
handled deletes its contact in the same step: the office keeps what was wrong, not who
said so.
"""

from __future__ import annotations

import secrets
from typing import Any

from redis import exceptions as rx

from waitboard.core.barriers import KEEP_DAYS, BarrierReport
from waitboard.core.errors import NotFound, Unavailable
from waitboard.store import keys
from waitboard.store.location_scripts import LocationScripts

_DOWN = (rx.ConnectionError, rx.TimeoutError, OSError)


class BarrierReports(LocationScripts):
    """Part of :class:`~waitboard.store.office_store.Store`."""

    async def add_barrier_report(
        self, text: str, page: str, lang: str, contact: str | None, now_ms: int
    ) -> str:
        report_id = "r_" + secrets.token_urlsafe(12)
        fields: dict[Any, Any] = {
            "at": str(now_ms),
            "page": page,
            "text": text,
            "lang": lang,
            "handled": "0",
        }
        if contact:
            fields["contact"] = contact
        key = keys.barrier_report(report_id)
        try:
            async with self.redis.pipeline(transaction=True) as tx:
                tx.hset(key, mapping=fields)
                tx.expire(key, KEEP_DAYS * 86400)
                tx.zadd(keys.barrier_reports(), {report_id: now_ms})
                # (The list forgets what has expired: ids older than the reports' life.)
                tx.zremrangebyscore(keys.barrier_reports(), 0, now_ms - KEEP_DAYS * 86_400_000)
                await tx.execute()
        except _DOWN as e:
            raise Unavailable(
                "Redis is not reachable; the report was not saved. Try again in a moment."
            ) from e
        return report_id

    async def barrier_reports(self, limit: int = 200) -> list[BarrierReport]:
        """The newest reports first."""
        try:
            found = await self.redis.zrevrange(keys.barrier_reports(), 0, limit - 1)
            ids = [r.decode() if isinstance(r, bytes) else str(r) for r in found]
            async with self.redis.pipeline(transaction=False) as p:
                for report_id in ids:
                    p.hgetall(keys.barrier_report(report_id))
                rows: list[dict[bytes, bytes]] = await p.execute()
        except _DOWN as e:
            raise Unavailable("Redis is not reachable.") from e
        return [
            BarrierReport(
                id=report_id,
                at_ms=int(row[b"at"]),
                page=row[b"page"].decode(),
                text=row[b"text"].decode(),
                lang=row[b"lang"].decode(),
                contact=row[b"contact"].decode() if b"contact" in row else None,
                handled=row[b"handled"] == b"1",
            )
            for report_id, row in zip(ids, rows, strict=True)
            if row
        ]

    async def handle_barrier_report(self, report_id: str) -> None:
        """Mark a report handled and forget its contact. (Two steps, not one script: a
        report expires a year after it came, not in the moment between them.)"""
        key = keys.barrier_report(report_id)
        try:
            if not await self.redis.exists(key):
                raise NotFound(f"There is no report '{report_id[:40]}'.")
            async with self.redis.pipeline(transaction=True) as tx:
                tx.hdel(key, "contact")
                tx.hset(key, "handled", "1")
                await tx.execute()
        except _DOWN as e:
            raise Unavailable("Redis is not reachable; try again in a moment.") from e
