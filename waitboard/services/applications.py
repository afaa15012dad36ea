"""Application status: the commands, once, for the API and the pages alike.

A citizen's lookup: the application if number and PIN fit; a wrong PIN and an unknown
number get the same refusal after the same hashing work, and every attempt is charged to
the client's and the number's rate limits before the PIN is checked (a right one is given
back), so parallel guesses cannot slip past the limits and a citizen who checks often is
never locked out by themselves.

A caseworker's commands (create, stage and missing documents, new PIN, delete): a new
PIN is drawn here and only its scrypt record is stored; it comes back to the caller once,
to be shown once. Logs never carry numbers, PINs or addresses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from waitboard.core.application_fields import check_missing
from waitboard.core.application_pins import (
    LookupFailed,
    LookupLimits,
    TooManyAttempts,
    hash_pin,
    keyed_digest,
    new_pin,
    verify_pin,
)
from waitboard.core.applications import Application, AuditEntry, Stage
from waitboard.core.clock import Clock, to_ms
from waitboard.core.staff import Actor
from waitboard.services.limits import retry_after
from waitboard.store.applications import ApplicationStore, Change
from waitboard.store.idempotency import Idempotency
from waitboard.store.limits import Limit, Limiter

log = logging.getLogger(__name__)

LIMITS = LookupLimits()
#: The lookup's limits as rate limits (:mod:`waitboard.store.limits`): the whole allowance at
#: once, then one attempt more per window.
BY_ADDRESS = Limit(per_minute=60 / LIMITS.address_window_s, burst=LIMITS.per_address)
BY_NUMBER = Limit(per_minute=60 / LIMITS.number_window_s, burst=LIMITS.per_number)
#: PIN hashes computed at once per process: each takes 16 MiB and a core for ~50 ms.
HASHING_AT_ONCE = 4
T = TypeVar("T")


class Applications:
    """Built once per process (the app's lifespan). ``in_background`` keeps work that
    outlives a request (the append-only file's rewrite after a deletion)."""

    def __init__(
        self,
        store: ApplicationStore,
        limiter: Limiter,
        clock: Clock,
        secret_key: str,
        in_background: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.secret_key = secret_key
        self.in_background = in_background
        self._hashing = asyncio.Semaphore(HASHING_AT_ONCE)

    async def _hash(self, fn: Callable[..., T], *args: Any) -> T:
        """A PIN hash in a worker thread, a few at a time (memory, and the event loop)."""
        async with self._hashing:
            return await asyncio.to_thread(fn, *args)

    async def lookup(self, address: str, number: str, pin: str) -> Application:
        """The application if number and PIN fit; LookupFailed (the same for a wrong PIN
        and an unknown number) or TooManyAttempts otherwise."""
        subjects = [
            ("address", address, {"lookup": BY_ADDRESS}),
            ("number", number, {"lookup": BY_NUMBER}),
        ]
        for i, (kind, value, buckets) in enumerate(subjects):
            wait = await self.limiter.take(kind, value, buckets)
            if wait > 0:
                for taken in subjects[:i]:  # a refused attempt counts nowhere
                    await self.limiter.give_back(*taken)
                raise TooManyAttempts(retry_after(wait))
        application, record = await self.store.credentials(number)
        if not await self._hash(verify_pin, pin, record) or application is None:
            raise LookupFailed
        for taken in subjects:
            await self.limiter.give_back(*taken)
        return application

    async def create(
        self, device: Actor, number: str, idem: Idempotency | None
    ) -> tuple[Change, str | None]:
        """A new application at its first stage, and its new PIN (None for a replay: the
        PIN was shown with the first answer, and is stored nowhere)."""
        pin = new_pin()
        record = await self._hash(hash_pin, pin)
        change = await self.store.create(number, record, device.id, self._now(), idem)
        return change, None if change.replayed else pin

    async def set_stage(
        self,
        device: Actor,
        number: str,
        stage: Stage,
        missing: Iterable[str],
        idem: Idempotency | None,
    ) -> Change:
        """A new stage; for documents_missing, what is missing (checked to fit)."""
        items = check_missing(stage, missing)
        return await self.store.set_stage(number, stage, items, device.id, self._now(), idem)

    async def reset_pin(
        self, device: Actor, number: str, idem: Idempotency | None
    ) -> tuple[Change, str | None]:
        """A new PIN (the old one stops working), as :meth:`create` gives one."""
        pin = new_pin()
        record = await self._hash(hash_pin, pin)
        change = await self.store.reset_pin(number, record, device.id, self._now(), idem)
        return change, None if change.replayed else pin

    async def delete(
        self,
        device: Actor,
        number: str,
        idem: Idempotency | None,
        created: tuple[int, int] | None = None,
    ) -> bool:
        """Delete an application now; True for a replay. The log names the device, never
        the number; Redis then rewrites its append-only file, so the deleted records leave
        the disk too."""
        if idem is not None:
            # Kept for 24 h after the application is gone: a plain hash of the request
            # would give its number away to a few guesses.
            idem = Idempotency(idem.key, keyed_digest(self.secret_key, "delete", idem.fingerprint))
        replayed = await self.store.delete(number, device.id, self._now(), idem, created)
        if not replayed:
            log.info("an application was deleted by hand", extra={"device": device.id})
            # In the background: it may wait for a rewrite already running.
            self.in_background(self.store.rewrite_append_only_file())
        return replayed

    async def application(self, number: str) -> Application | None:
        return await self.store.application(number)

    async def history(self, number: str) -> tuple[Application, list[AuditEntry]]:
        return await self.store.history(number)

    async def recent(self, limit: int = 50) -> list[Application]:
        return await self.store.recent(limit)

    def _now(self) -> int:
        return to_ms(self.clock())
