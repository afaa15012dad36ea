"""Redis access for application status: every change is one Lua script, every read one
round trip; Redis unreachable becomes :class:`~waitboard.core.errors.Unavailable`.

The keys (hash tag ``{apps}``) are built and listed in :mod:`waitboard.store.keys`; the scripts
are in ``waitboard/store/scripts/applications/``, each with a header stating what it guarantees.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from redis import exceptions as rx
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from waitboard.core.applications import (
    DAY_MS,
    FIRST_STAGE,
    Application,
    ApplicationExists,
    AuditEntry,
    DeletedSince,
    FiledAnew,
    NoSuchApplication,
    Stage,
    deletion_due,
    encode_missing,
)
from waitboard.core.audit import application_ref, by, keep_ms
from waitboard.core.errors import IdempotencyMismatch, Unavailable, WaitboardError
from waitboard.core.outcomes import OutcomeKind
from waitboard.core.staff import Actor
from waitboard.store.idempotency import Idempotency
from waitboard.store.keys import application as app_key
from waitboard.store.keys import application_audit as audit_key
from waitboard.store.keys import application_keys, applications_deleting, applications_recent
from waitboard.store.outcomes import kind_of
from waitboard.store.redis import DEADLINE_S, read, register_scripts, run_script
from waitboard.store.scripts import APPLICATION_COMMANDS, IDEMPOTENCY_TTL_S

log = logging.getLogger(__name__)

_FIELDS = ("number", "stage", "missing", "created_at", "updated_at", "delete_at")
#: Deleted applications taken off the recent list in one script call, at most.
SWEEP_BATCH = 500
#: How long a rewrite of the append-only file waits for one already running, and how often
#: it looks (a rewrite takes seconds for an office's data).
REWRITE_WAIT_S = 120.0
REWRITE_POLL_S = 1.0
#: Reads of the records to delete with an application, at most (each a change came between).
DELETE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Change:
    """What a successful command did."""

    kind: OutcomeKind  # created or done
    application: Application
    changed: bool = True
    replayed: bool = False


class ApplicationStore:
    """``redis`` carries the commands, ``reads`` the reads (as in
    :class:`~waitboard.store.office_store.Store`). ``wait_replicas``: a change is
    acknowledged only once that many replicas have it, so a failover cannot lose a PIN
    already printed on a letter. A decided application is deleted
    ``keep_days_after_decision`` later (the office's configuration)."""

    def __init__(
        self,
        redis: Redis,
        reads: Redis | None = None,
        *,
        wait_replicas: int = 0,
        keep_days_after_decision: int = 90,
        audit_days: int = 365,
        audit_secret: str = "",
    ) -> None:
        self.redis = redis
        # The office's record of staff actions: how long, and the key of the digest that
        # names an application there (core/audit.py).
        self.audit_keep_ms = keep_ms(audit_days)
        self.audit_secret = audit_secret
        self.reads = reads or redis
        self.wait_replicas = wait_replicas
        self.keep_days_after_decision = keep_days_after_decision
        loaded = register_scripts(redis, [*APPLICATION_COMMANDS, "applications/sweep"])
        self._create = loaded["applications/create"]
        self._stage = loaded["applications/stage"]
        self._pin = loaded["applications/pin"]
        self._sweep = loaded["applications/sweep"]
        self._schedule = loaded["applications/schedule"]
        self._delete = loaded["applications/delete"]

    # --- commands ---------------------------------------------------------------------------

    async def create(
        self,
        number: str,
        pin_record: str,
        device: str,
        now_ms: int,
        idem: Idempotency | None = None,
        *,
        actor: Actor | None = None,
    ) -> Change:
        args = {"stage": FIRST_STAGE.value, "pin": pin_record}
        return self._change(
            await self._run(self._create, "create", number, device, now_ms, idem, args, actor=actor)
        )

    async def set_stage(
        self,
        number: str,
        stage: Stage,
        missing: tuple[str, ...],
        device: str,
        now_ms: int,
        idem: Idempotency | None = None,
        *,
        actor: Actor | None = None,
    ) -> Change:
        args = {"stage": stage.value, "missing": encode_missing(missing)}
        delete_at = deletion_due(stage, now_ms, self.keep_days_after_decision)
        if delete_at is not None:  # (absent, not null: Lua's cjson makes null a true value)
            args["delete_at"] = str(delete_at)
        return self._change(
            await self._run(self._stage, "stage", number, device, now_ms, idem, args, actor=actor)
        )

    async def reset_pin(
        self,
        number: str,
        pin_record: str,
        device: str,
        now_ms: int,
        idem: Idempotency | None = None,
        *,
        actor: Actor | None = None,
    ) -> Change:
        args = {"pin": pin_record}
        return self._change(
            await self._run(self._pin, "pin", number, device, now_ms, idem, args, actor=actor)
        )

    async def delete(
        self,
        number: str,
        device: str,
        now_ms: int,
        idem: Idempotency | None = None,
        created: tuple[int, int] | None = None,
        *,
        actor: Actor | None = None,
    ) -> bool:
        """Delete the application now, with its PIN's record, its history and what the
        Idempotency-Key records of its changes say; NoSuchApplication if unknown, and
        FiledAnew if the application filed under the number now was not created within
        ``created`` (ms, both ends included: when the one the caller saw was). True when
        this was a retry that only replayed."""
        args = (
            {}
            if created is None
            else {"created_from": str(created[0]), "created_to": str(created[1])}
        )
        for _ in range(DELETE_ATTEMPTS):
            # The records the hash names become the script's keys; should a change name
            # another one in between, the script refuses and they are read again.
            named = await read(self.redis.hget(app_key(number), "idem"))
            records = [entry.rsplit("@", 1)[0] for entry in (_text(named) or "").split()]
            out = await self._run(
                self._delete, "delete", number, device, now_ms, idem, args, records, actor=actor
            )
            if out.get("error") != "records_changed":
                return bool(out.get("replayed"))
        raise Unavailable(
            f"Application {number} kept changing while it was being deleted; nothing was "
            "deleted. Please try again in a moment."
        )

    # --- reads ------------------------------------------------------------------------------

    async def credentials(self, number: str) -> tuple[Application | None, str | None]:
        """The application and its PIN's record (None, None: no such number)."""
        row = await read(self.reads.hmget(app_key(number), [*_FIELDS, "pin"]))
        if row[0] is None:
            return None, None
        return _application(row[:-1]), _text(row[-1])

    async def application(self, number: str) -> Application | None:
        row = await read(self.reads.hmget(app_key(number), list(_FIELDS)))
        return None if row[0] is None else _application(row)

    async def history(self, number: str) -> tuple[Application, list[AuditEntry]]:
        """The application and its changes, oldest first; NoSuchApplication if unknown."""
        async with self.reads.pipeline(transaction=False) as pipe:
            pipe.hmget(app_key(number), list(_FIELDS))
            pipe.xrange(audit_key(number))
            row, entries = await read(pipe.execute())
        if row[0] is None:
            raise NoSuchApplication(
                f"There is no application {number}; check the number or "
                "create the application first.",
                number=number,
            )
        return _application(row), [
            AuditEntry.parse({k.decode(): v.decode() for k, v in fields.items()})
            for _, fields in entries
        ]

    async def recent(self, limit: int = 50) -> list[Application]:
        """The applications changed last, newest first."""
        numbers = await read(self.reads.zrevrange(applications_recent(), 0, limit - 1))
        if not numbers:
            return []
        async with self.reads.pipeline(transaction=False) as pipe:
            for number in numbers:
                pipe.hmget(app_key(str(_text(number))), list(_FIELDS))
            rows = await read(pipe.execute())
        return [_application(row) for row in rows if row[0] is not None]

    # --- retention ------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Take the applications whose deletion is due off the recent list (their hash and
        history expire in Redis by themselves); how many left it."""
        total = 0
        for _ in range(1000):  # bounded: half a million numbers at most per call
            done = int(
                await read(
                    self._sweep(
                        keys=[applications_recent(), applications_deleting()],
                        args=[SWEEP_BATCH],
                        client=self.redis,
                    )
                )
            )
            total += done
            if done < SWEEP_BATCH:
                break
        return total

    async def schedule_undated(self) -> int:
        """Give each decided application without a deletion date one: decided before
        dates were kept (or restored from such a time), it is deleted its decision's time
        plus the retention. How many got one."""
        keep_ms = self.keep_days_after_decision * DAY_MS
        scheduled = 0
        for first in range(0, 1000 * SWEEP_BATCH, SWEEP_BATCH):  # bounded, like the sweep
            numbers = [
                str(_text(n))
                for n in await read(
                    self.redis.zrange(applications_recent(), first, first + SWEEP_BATCH - 1)
                )
            ]
            async with self.redis.pipeline(transaction=False) as pipe:
                for number in numbers:
                    pipe.hmget(app_key(number), ["stage", "delete_at"])
                rows = await read(pipe.execute())
            for number, (stage, due) in zip(numbers, rows, strict=True):
                if stage == Stage.DECIDED.value.encode() and due is None:
                    scheduled += int(
                        await read(
                            self._schedule(
                                keys=self._keys(number),
                                args=[orjson.dumps({"number": number, "keep_ms": keep_ms})],
                                client=self.redis,
                            )
                        )
                    )
            if len(numbers) < SWEEP_BATCH:
                break
        return scheduled

    async def rewrite_append_only_file(self, wait_s: float = REWRITE_WAIT_S) -> None:
        """Have Redis rewrite its append-only file, if it keeps one: a deleted
        application's records stay on disk in the old file until it is rewritten. A
        rewrite already running started before the deletion, so it is waited for (up to
        ``wait_s``) and a new one started after it. A Redis that refuses (the command
        disabled by its host, say) or stays busy is logged and let be."""
        try:
            for _ in range(max(1, int(wait_s / REWRITE_POLL_S))):
                async with asyncio.timeout(DEADLINE_S):
                    info = await self.redis.info("persistence")
                if not info.get("aof_enabled"):
                    return
                if not info.get("aof_rewrite_in_progress"):
                    async with asyncio.timeout(DEADLINE_S):
                        await self.redis.bgrewriteaof()
                    return
                await asyncio.sleep(REWRITE_POLL_S)
            raise TimeoutError
        except (TimeoutError, rx.RedisError, OSError) as e:
            log.warning(
                "redis did not rewrite its append-only file after deleting applications",
                extra={"error": type(e).__name__},
            )

    # --- plumbing ---------------------------------------------------------------------------

    @staticmethod
    def _change(out: dict[str, Any]) -> Change:
        """What a command's answer (from :meth:`_run`) says it did."""
        return Change(
            kind=kind_of(out),
            application=_application([out["application"].get(f) for f in _FIELDS]),
            changed=bool(out.get("changed", True)),
            replayed=bool(out.get("replayed")),
        )

    async def _run(
        self,
        script: AsyncScript,
        name: str,
        number: str,
        device: str,
        now_ms: int,
        idem: Idempotency | None,
        args: dict[str, Any],
        own_keys: Sequence[str] = (),
        *,
        actor: Actor | None = None,
    ) -> dict[str, Any]:
        """A command script's answer; its errors raised, but ``records_changed`` (the
        delete's, which its caller handles). ``actor``: who acts, for the audit."""
        payload = {
            "number": number,
            "now": str(now_ms),
            "device": device,
            "idem_ttl": IDEMPOTENCY_TTL_S,
            "by": by(actor),
            "ref": application_ref(self.audit_secret, number),
            "audit_keep_ms": self.audit_keep_ms,
            **args,
        }
        script_keys = self._keys(number)
        if idem is not None:
            payload["fingerprint"] = idem.fingerprint
            script_keys.append(idem.key)
        script_keys.extend(own_keys)
        raw = await run_script(name, script, script_keys, payload, self.redis, self.wait_replicas)
        out: dict[str, Any] = orjson.loads(raw)
        if "error" in out and out["error"] != "records_changed":
            raise _error(out, number)
        return out

    @staticmethod
    def _keys(number: str) -> list[str]:
        """KEYS of a command script (lib.lua), but the Idempotency-Key's record."""
        return application_keys(number)


def _text(value: Any) -> str | None:
    if value is None or value is False:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _application(row: list[Any]) -> Application:
    return Application.parse({f: _text(v) for f, v in zip(_FIELDS, row, strict=True)})


def _error(out: dict[str, Any], number: str) -> WaitboardError:
    code = out.get("error")
    if code == "exists":
        return ApplicationExists(
            f"Application {number} exists already; open it to change "
            "its stage, or check the number.",
            number=number,
        )
    if code == "not_found":
        return NoSuchApplication(
            f"There is no application {number}; check the number or create the application first.",
            number=number,
        )
    if code == "deleted_since":
        return DeletedSince(
            f"Application {number} has been deleted since this Idempotency-Key was first "
            "used; nothing was changed. Check the number, and use a new key for a new request.",
            number=number,
        )
    if code == "filed_anew":
        return FiledAnew(
            f"Application {number} was deleted and filed anew since it was opened; nothing "
            "was deleted. Open it again and check that it is the one to delete.",
            number=number,
        )
    if code == "idempotency_key_reused":
        return IdempotencyMismatch(
            "This Idempotency-Key was already used for a different request. Use a new key "
            "for a new request, and the same key only to retry the same request."
        )
    return WaitboardError(f"Unexpected answer from Redis: {code!r}")
