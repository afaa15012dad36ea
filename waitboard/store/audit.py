"""Reading the audit: the records of staff actions, from every location's stream and the
applications', merged by time (the scripts write them: ``lib.lua``'s ``audit``).

A stream's entry ids are the actions' times, so a day range is a range of ids and a page
is "older than the last one shown". Person and action are not indexed: a page reads each
stream newest first, in batches, until it has its records or has read :data:`SCAN_MAX`
entries of a stream (then it says so, and a narrower day range helps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis import exceptions as rx

from waitboard.core.audit import APPLICATIONS, STAFF, AuditFilter, AuditRecord, merged
from waitboard.core.errors import Unavailable
from waitboard.store import keys
from waitboard.store.location_scripts import LocationScripts

_DOWN = (rx.ConnectionError, rx.TimeoutError, OSError)
#: Entries read from one stream at a time.
BATCH = 500
#: Entries read from one stream for one page at most.
SCAN_MAX = 50_000


@dataclass(frozen=True, slots=True)
class AuditPage:
    records: list[AuditRecord]
    more: bool  # older records (may) match: :attr:`next` asks for them
    next: str | None  # the cursor of the next page: "<entry id>@<stream>"
    cut_short: bool = False  # a stream had more entries than one page reads


class AuditReads(LocationScripts):
    """Part of :class:`~waitboard.store.office_store.Store`."""

    def audit_streams(self) -> dict[str, str]:
        """Every stream of records, by what it belongs to (a location id or
        :data:`~waitboard.core.audit.APPLICATIONS`)."""
        streams = {loc.id: keys.audit(loc.id) for loc in self.office.locations}
        streams[APPLICATIONS] = keys.applications_audit()
        streams[STAFF] = keys.staff_audit()
        return streams

    async def audit_page(
        self,
        flt: AuditFilter,
        limit: int = 50,
        after: str | None = None,
    ) -> AuditPage:
        """The newest ``limit`` records that match, older than the cursor ``after``."""
        start, end = flt.window_ms(self.office.tz)
        cursor_id, _, cursor_stream = (after or "").partition("@")
        results: list[list[AuditRecord]] = []
        more = cut = False
        for owner, key in self.audit_streams().items():
            if flt.location is not None and owner != flt.location:
                continue
            high = "+" if end is None else f"{end}-18446744073709551615"
            if cursor_id:
                # (Records of the same id in several streams sort by the stream's name.)
                high = cursor_id if owner < cursor_stream else "(" + cursor_id
            low = "-" if start is None else f"{start}-0"
            found, stream_more, stream_cut = await self._scan(owner, key, flt, high, low, limit)
            results.append(found)
            more = more or stream_more
            cut = cut or stream_cut
        records = merged(results, limit + 1)
        more = more or len(records) > limit
        records = records[:limit]
        nxt = f"{records[-1].id}@{records[-1].location}" if more and records else None
        return AuditPage(records, more and nxt is not None, nxt, cut)

    async def _scan(
        self, owner: str, key: str, flt: AuditFilter, high: str, low: str, limit: int
    ) -> tuple[list[AuditRecord], bool, bool]:
        found: list[AuditRecord] = []
        read = 0
        while True:
            try:
                batch: list[Any] = list(
                    await self.reads.xrevrange(key, high, low, count=BATCH) or []
                )
            except _DOWN as e:
                raise Unavailable("Redis is not reachable; the audit cannot be read.") from e
            for raw_id, raw in batch:
                fields = {_text(k): _text(v) for k, v in (raw or {}).items()}
                record = AuditRecord.parse(owner, _text(raw_id), fields)
                if flt.matches(record):
                    found.append(record)
                    if len(found) > limit:
                        return found, True, False
            read += len(batch)
            if len(batch) < BATCH:
                return found, False, False
            if read >= SCAN_MAX:
                return found, True, True
            high = "(" + _text(batch[-1][0])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
