"""Reading the audit: the records of staff actions, from every location's stream and the
applications', merged by time (the scripts write them: ``lib.lua``'s ``audit``).

A stream's entry ids are the actions' times, so a day range is a range of ids and a page
is "older than the last one shown". Person and action are not indexed: a script reads each
stream newest first, in Redis, and sends only what matches, until it has a page or has
read :data:`SCAN_MAX` entries of a stream (then the page says so, and a narrower range of
days helps).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from waitboard.core.audit import (
    APPLICATIONS,
    STAFF,
    AuditFilter,
    AuditRecord,
    keep_ms,
    merged,
)
from waitboard.core.clock import to_ms
from waitboard.core.errors import BadRequest
from waitboard.store import keys
from waitboard.store.location_scripts import LocationScripts
from waitboard.store.redis import register_scripts, run_script

#: Entries one call of the script reads at most (a few milliseconds of Redis' time).
SCAN_STEP = 2_000
#: Entries read from one stream for one page at most.
SCAN_MAX = 100_000
#: A page's cursor (:attr:`AuditPage.next`): an entry's id, '@', the stream's owner.
CURSOR = re.compile(r"^[0-9]{1,19}-[0-9]{1,19}@[a-z0-9_-]{1,60}$")
#: Keys a SCAN call asks for at once, when the retention is applied to every stream.
TRIM_SCAN_COUNT = 500


def valid_cursor(after: str | None) -> bool:
    """Whether ``after`` is a cursor a page gave (or none)."""
    return after is None or CURSOR.match(after) is not None


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
        streams[APPLICATIONS] = keys.audit(APPLICATIONS)
        streams[STAFF] = keys.audit(STAFF)
        return streams

    async def audit_page(
        self,
        flt: AuditFilter,
        limit: int = 50,
        after: str | None = None,
    ) -> AuditPage:
        """The newest ``limit`` records that match, older than the cursor ``after`` (a
        malformed one: BadRequest), and none older than the retention (``audit_days``)
        even where a stream still holds them."""
        if not valid_cursor(after):
            raise BadRequest(
                "The paging cursor 'after' is malformed; go back to the newest records."
            )
        start, end = flt.window_ms(self.office.tz)
        oldest = self._oldest_kept_ms()
        start = oldest if start is None else max(start, oldest)
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

    def _oldest_kept_ms(self) -> int:
        """The time of the oldest record the retention keeps (ms)."""
        return max(0, to_ms(self.clock()) - keep_ms(self.office.audit_days))

    async def trim_audit(self) -> int:
        """Apply the retention to every audit stream - of each location, configured or
        not any more, of the applications and of the staff - whether or not anything was
        written to it lately (a new record trims only its own stream). Idempotent; returns
        how many records went."""
        minid = f"{self._oldest_kept_ms()}-0"
        found = set(self.audit_streams().values())
        async for key in self.redis.scan_iter(
            match=keys.audit_pattern(), count=TRIM_SCAN_COUNT, _type="stream"
        ):
            found.add(key.decode() if isinstance(key, bytes) else str(key))
        removed = 0
        for key in sorted(found):
            removed += int(await self.redis.xtrim(key, minid=minid, approximate=False))
        return removed

    async def _scan(
        self, owner: str, key: str, flt: AuditFilter, high: str, low: str, limit: int
    ) -> tuple[list[AuditRecord], bool, bool]:
        """One stream's newest records that match (at most ``limit`` + 1), narrowed by the
        script in Redis, :data:`SCAN_STEP` entries a call; whether it has older ones that
        may match, and whether it stopped at :data:`SCAN_MAX`."""
        payload: dict[str, Any] = {"low": low, "limit": limit, "scan_max": SCAN_STEP}
        for name in ("person", "action", "application", "ticket"):
            value = getattr(flt, name)
            if value is not None:
                payload[name] = value
        script = getattr(self, "_audit_read_script", None)
        if script is None:
            script = register_scripts(self.reads, ["audit/read"])["audit/read"]
            self._audit_read_script = script
        found: list[AuditRecord] = []
        for _ in range(SCAN_MAX // SCAN_STEP):
            payload["high"] = high
            out = orjson.loads(await run_script("audit/read", script, [key], payload, self.reads))
            entries = out.get("entries") or []
            found += [
                AuditRecord.parse(
                    owner, str(entry_id), dict(zip(flat[::2], flat[1::2], strict=True))
                )
                for entry_id, flat in (entries if isinstance(entries, list) else [])
            ]
            if not out.get("cut") or len(found) > limit:
                return found[: limit + 1], bool(out.get("more")) or len(found) > limit, False
            high = "(" + str(out["last"])
        return found, True, True
