"""Redis access for application status: every change is one Lua script, every read one
round trip; Redis unreachable becomes :class:`~waitboard.errors.Unavailable`.

Keys. All keys of applications share the hash tag ``{apps}``, so each script touches one
hash slot and runs unchanged on Redis Cluster (an office's applications are small and few
enough for one slot). The lookup's counters are single keys and need no tag.

===================================  ======  ===============================================
key                                  type    content
===================================  ======  ===============================================
``wb:app:{apps}:a:<number>``         hash    ``number``, ``stage``, ``missing`` (JSON list),
                                             ``pin`` (scrypt record, never the PIN),
                                             ``created_at``, ``updated_at`` (ms)
``wb:app:{apps}:audit:<number>``     stream  every change: ``at``, ``device``, ``action``,
                                             ``number``, ``old_stage``, ``stage``,
                                             ``missing``; never trimmed (it is the record)
``wb:app:{apps}:recent``             zset    numbers scored by their last change (ms)
``wb:app:{apps}:idem:<sha256>``      string  the answer stored for an Idempotency-Key
                                             (never a PIN), 24 h
``wb:app:limit:address:<hmac>``      string  wrong lookups from one client address in the
                                             current window; expires with it
``wb:app:limit:number:<hmac>``       string  wrong lookups of one number (known or not) in
                                             the current window; expires with it
===================================  ======  ===============================================

``<hmac>`` is :func:`waitboard.applications.limit_digest`: neither an address nor a string a
guesser typed is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from redis import exceptions as rx
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from waitboard.applications import (
    FIRST_STAGE,
    Application,
    ApplicationExists,
    AuditEntry,
    NoSuchApplication,
    Stage,
    encode_missing,
)
from waitboard.errors import IdempotencyMismatch, Unavailable, WaitboardError
from waitboard.scripts import IDEMPOTENCY_TTL_S
from waitboard.store import DEADLINE_S, Idempotency

log = logging.getLogger(__name__)

PREFIX = "wb:app:{apps}:"
RECENT = PREFIX + "recent"
_FIELDS = ("number", "stage", "missing", "created_at", "updated_at")
T = TypeVar("T")


def app_key(number: str) -> str:
    return PREFIX + "a:" + number


def audit_key(number: str) -> str:
    return PREFIX + "audit:" + number


def idempotency_key(device_id: str, key: str) -> str:
    """Scoped per device: one device can never replay another's answers."""
    return PREFIX + "idem:" + hashlib.sha256(f"{device_id}\n{key}".encode()).hexdigest()


def limit_key(kind: str, digest: str) -> str:
    """``kind``: ``address`` or ``number``; ``digest``: the keyed hash of the value."""
    return f"wb:app:limit:{kind}:{digest}"


# --- the scripts ----------------------------------------------------------------------------

_PRELUDE = """
-- Calling convention: KEYS[1] the application's hash, KEYS[2] its audit stream, KEYS[3] the
-- recent list, KEYS[4] (optional) the Idempotency-Key record; ARGV[1] JSON arguments
-- (number, now in ms as a string, device, fingerprint, idem_ttl, and the command's own).
-- Guarantees shared by the commands: a script either changes nothing and answers an error,
-- or makes its whole change with one audit entry and the number's place in the recent
-- list, atomically. A successful answer is kept under the Idempotency-Key for 24 h with a
-- fingerprint of the request: the same request gets it again and changes nothing, another
-- request under that key is refused (422). Answers never contain the PIN's record.
local A = cjson.decode(ARGV[1])
local APP, AUDIT, RECENT, IDEM = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local function replay()
  if not IDEM then return nil end
  local raw = redis.call('GET', IDEM)
  if not raw then return nil end
  local record = cjson.decode(raw)
  if record.fingerprint ~= A.fingerprint then
    return cjson.encode({status = 422, error = 'idempotency_key_reused'})
  end
  record.answer.replayed = true
  return cjson.encode(record.answer)
end

local function answer(status, fields)
  fields.status = status
  if IDEM then
    redis.call('SET', IDEM, cjson.encode({fingerprint = A.fingerprint, answer = fields}),
               'EX', A.idem_ttl)
  end
  return cjson.encode(fields)
end

local function view()
  local h = redis.call('HMGET', APP, 'number', 'stage', 'missing', 'created_at', 'updated_at')
  return {number = h[1], stage = h[2], missing = h[3], created_at = h[4], updated_at = h[5]}
end

local function audit(action, old_stage, stage, missing)
  redis.call('XADD', AUDIT, '*', 'at', A.now, 'device', A.device, 'action', action,
             'number', A.number, 'old_stage', old_stage, 'stage', stage, 'missing', missing)
  redis.call('ZADD', RECENT, A.now, A.number)
end
"""

#: create: a new application at the first stage with its PIN's record; 409 if the number is
#: taken (whoever took it), so one number is never two applications.
_CREATE = _PRELUDE + """
local replayed = replay()
if replayed then return replayed end
if redis.call('EXISTS', APP) == 1 then return cjson.encode({status = 409, error = 'exists'}) end
redis.call('HSET', APP, 'number', A.number, 'stage', A.stage, 'missing', '[]', 'pin', A.pin,
           'created_at', A.now, 'updated_at', A.now)
audit('created', '', A.stage, '[]')
return answer(201, {application = view()})
"""

#: stage: the new stage and missing list. The same stage and list again changes nothing
#: and writes no audit entry (a retry without Idempotency-Key is harmless, too).
_STAGE = _PRELUDE + """
local replayed = replay()
if replayed then return replayed end
if redis.call('EXISTS', APP) == 0 then return cjson.encode({status = 404, error = 'not_found'}) end
local old = redis.call('HMGET', APP, 'stage', 'missing')
if old[1] == A.stage and old[2] == A.missing then
  return answer(200, {application = view(), changed = false})
end
redis.call('HSET', APP, 'stage', A.stage, 'missing', A.missing, 'updated_at', A.now)
audit('stage', old[1], A.stage, A.missing)
return answer(200, {application = view(), changed = true})
"""

#: pin: replaces the PIN's record (the old letter's PIN stops working at once); the stage
#: and its date stay as they are.
_PIN = _PRELUDE + """
local replayed = replay()
if replayed then return replayed end
if redis.call('EXISTS', APP) == 0 then return cjson.encode({status = 404, error = 'not_found'}) end
local current = redis.call('HMGET', APP, 'stage', 'missing')
redis.call('HSET', APP, 'pin', A.pin)
audit('pin_reset', current[1], current[1], current[2])
return answer(200, {application = view()})
"""

#: reserve: one more wrong attempt on a counter, unless it is at ``limit`` already; then the
#: milliseconds until the window ends. Counting before the PIN is checked means parallel
#: guesses cannot slip past the limit; a right PIN gives its attempt back (refund).
_RESERVE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
if n >= limit then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], window)
    ttl = window
  end
  return ttl
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], window) end
return 0
"""

#: refund: the attempt was right after all. Never below zero, never a counter without TTL.
_REFUND = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return n
"""


@dataclass(frozen=True, slots=True)
class Change:
    """What a successful command did."""

    status: int  # 200 or 201
    application: Application
    changed: bool = True
    replayed: bool = False


class ApplicationStore:
    """``redis`` carries the commands, ``reads`` the reads (as in :class:`~waitboard.store.
    Store`). ``wait_replicas``: a change is acknowledged only once that many replicas have
    it, so a failover cannot lose a PIN already printed on a letter."""

    def __init__(self, redis: Redis, reads: Redis | None = None, *,
                 wait_replicas: int = 0) -> None:
        self.redis = redis
        self.reads = reads or redis
        self.wait_replicas = wait_replicas
        self._create = redis.register_script(_CREATE)
        self._stage = redis.register_script(_STAGE)
        self._pin = redis.register_script(_PIN)
        self._reserve = redis.register_script(_RESERVE)
        self._refund = redis.register_script(_REFUND)

    # --- commands ---------------------------------------------------------------------------

    async def create(self, number: str, pin_record: str, device: str, now_ms: int,
                     idem: Idempotency | None = None) -> Change:
        return await self._command(self._create, "create", number, device, now_ms, idem,
                                   {"stage": FIRST_STAGE.value, "pin": pin_record})

    async def set_stage(self, number: str, stage: Stage, missing: tuple[str, ...],
                        device: str, now_ms: int, idem: Idempotency | None = None) -> Change:
        return await self._command(self._stage, "stage", number, device, now_ms, idem,
                                   {"stage": stage.value, "missing": encode_missing(missing)})

    async def reset_pin(self, number: str, pin_record: str, device: str, now_ms: int,
                        idem: Idempotency | None = None) -> Change:
        return await self._command(self._pin, "pin", number, device, now_ms, idem,
                                   {"pin": pin_record})

    # --- reads ------------------------------------------------------------------------------

    async def credentials(self, number: str) -> tuple[Application | None, str | None]:
        """The application and its PIN's record (None, None: no such number)."""
        row = await self._read(self.reads.hmget(app_key(number), [*_FIELDS, "pin"]))
        if row[0] is None:
            return None, None
        return _application(row[:-1]), _text(row[-1])

    async def application(self, number: str) -> Application | None:
        row = await self._read(self.reads.hmget(app_key(number), list(_FIELDS)))
        return None if row[0] is None else _application(row)

    async def history(self, number: str) -> tuple[Application, list[AuditEntry]]:
        """The application and its changes, oldest first; NoSuchApplication if unknown."""
        async with self.reads.pipeline(transaction=False) as pipe:
            pipe.hmget(app_key(number), list(_FIELDS))
            pipe.xrange(audit_key(number))
            row, entries = await self._read(pipe.execute())
        if row[0] is None:
            raise NoSuchApplication(f"There is no application {number}; check the number or "
                                    "create the application first.", number=number)
        return _application(row), [
            AuditEntry.parse({k.decode(): v.decode() for k, v in fields.items()})
            for _, fields in entries]

    async def recent(self, limit: int = 50) -> list[Application]:
        """The applications changed last, newest first."""
        numbers = await self._read(self.reads.zrevrange(RECENT, 0, limit - 1))
        if not numbers:
            return []
        async with self.reads.pipeline(transaction=False) as pipe:
            for number in numbers:
                pipe.hmget(app_key(str(_text(number))), list(_FIELDS))
            rows = await self._read(pipe.execute())
        return [_application(row) for row in rows if row[0] is not None]

    # --- the lookup's counters --------------------------------------------------------------

    async def reserve(self, key: str, limit: int, window_s: int) -> float:
        """Count an attempt; 0 when allowed, else the seconds until the window ends."""
        ms = await self._read(self._reserve(keys=[key], args=[limit, window_s * 1000],
                                            client=self.redis))
        return int(ms) / 1000

    async def refund(self, key: str) -> None:
        await self._read(self._refund(keys=[key], args=[], client=self.redis))

    # --- plumbing ---------------------------------------------------------------------------

    async def _command(self, script: AsyncScript, name: str, number: str, device: str,
                       now_ms: int, idem: Idempotency | None, args: dict[str, Any]) -> Change:
        payload = {"number": number, "now": str(now_ms), "device": device,
                   "idem_ttl": IDEMPOTENCY_TTL_S, **args}
        script_keys = [app_key(number), audit_key(number), RECENT]
        if idem is not None:
            payload["fingerprint"] = idem.fingerprint
            script_keys.append(idem.key)
        try:
            async with asyncio.timeout(DEADLINE_S):
                if self.wait_replicas:
                    raw = await self._replicated(script, script_keys, payload)
                else:
                    raw = await script(keys=script_keys, args=[orjson.dumps(payload)],
                                       client=self.redis)
        except (TimeoutError, rx.TimeoutError) as e:
            raise Unavailable(
                "Redis did not answer in time; the change may or may not have been made. "
                "Retry with the same Idempotency-Key to be sure it happens once.") from e
        except (rx.ConnectionError, rx.BusyLoadingError, OSError) as e:
            raise Unavailable(
                "Redis is not reachable right now. Try again in a moment, with the same "
                "Idempotency-Key, so that a change that did go through is not made twice."
            ) from e
        except rx.ResponseError as e:
            # MISCONF, READONLY and the like; the message is not logged (it could quote
            # arguments), only the kind of refusal.
            log.error("redis refused an application script",
                      extra={"script": name, "error": str(e).split(" ", 1)[0][:40]})
            raise Unavailable("Redis refused the change; nothing was changed. Try again "
                              "in a moment.") from e
        out: dict[str, Any] = orjson.loads(raw)
        status = int(out["status"])
        if status >= 400:
            raise _error(out, number)
        return Change(status=status, application=_application(
            [out["application"].get(f) for f in _FIELDS]),
            changed=bool(out.get("changed", True)), replayed=bool(out.get("replayed")))

    async def _replicated(self, script: AsyncScript, script_keys: list[str],
                          payload: dict[str, Any]) -> Any:
        """The script and WAIT on one connection (WAIT covers that connection's writes)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            await script(keys=script_keys, args=[orjson.dumps(payload)], client=pipe)
            pipe.wait(self.wait_replicas, int(DEADLINE_S * 500))
            raw, replicas = await pipe.execute()
        if int(replicas) < self.wait_replicas:
            raise Unavailable(
                f"Only {replicas} of {self.wait_replicas} Redis replicas confirmed the change "
                "in time; it may or may not last. Retry with the same Idempotency-Key.")
        return raw

    async def _read(self, call: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(DEADLINE_S):
                return await call
        except (TimeoutError, rx.TimeoutError, rx.ConnectionError, rx.BusyLoadingError,
                OSError) as e:
            raise Unavailable("Redis is not reachable right now; please try again in a "
                              "moment.") from e
        except rx.ResponseError as e:
            log.error("redis refused an application read",
                      extra={"error": str(e).split(" ", 1)[0][:40]})
            raise Unavailable("Redis refused the request; please try again in a "
                              "moment.") from e


def _text(value: Any) -> str | None:
    if value is None or value is False:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _application(row: list[Any]) -> Application:
    return Application.parse({f: _text(v) for f, v in zip(_FIELDS, row, strict=True)})


def _error(out: dict[str, Any], number: str) -> WaitboardError:
    code = out.get("error")
    if code == "exists":
        return ApplicationExists(f"Application {number} exists already; open it to change "
                                 "its stage, or check the number.", number=number)
    if code == "not_found":
        return NoSuchApplication(f"There is no application {number}; check the number or "
                                 "create the application first.", number=number)
    if code == "idempotency_key_reused":
        return IdempotencyMismatch(
            "This Idempotency-Key was already used for a different request. Use a new key "
            "for a new request, and the same key only to retry the same request.")
    return WaitboardError(f"Unexpected answer from Redis: {code!r}")
