"""The office's webhooks at work: one deliverer per webhook and location, in every process.

Each process runs a deliverer for every pair (webhook, location) the configuration names;
the lease in Redis lets one of them deliver at a time, so that a pair's messages go out
in order from exactly one place, and another process's deliverer takes over when that one
stops (:mod:`waitboard.services.webhook_deliverer`).
"""

from __future__ import annotations

import asyncio
import contextlib

from waitboard.core.errors import ConfigError
from waitboard.core.office import Office
from waitboard.core.outbound import OutboundRefused
from waitboard.metrics import Metrics
from waitboard.services.outbound import Resolver, resolve
from waitboard.services.webhook_deliverer import Deliverer, WebhookTiming
from waitboard.store.webhooks import WebhookStore
from waitboard.tasks import supervise


def check_addresses(office: Office, *, allow_loopback: bool) -> None:
    """ConfigError naming each webhook whose URL this service may not send to - a loopback
    address without ``WAITBOARD_PUSH_ALLOW_LOOPBACK``, say - so that the service does not
    start with a webhook that could never deliver. (A name is resolved, and its addresses
    checked, before each request.)"""
    problems = []
    for hook in office.webhooks:
        try:
            hook.policy(allow_loopback=allow_loopback).check_url(hook.url)
        except OutboundRefused as e:
            hint = (
                "; WAITBOARD_PUSH_ALLOW_LOOPBACK=1 allows http://127.0.0.1:<port> outside "
                "production"
                if "127.0.0.1" in hook.url or "[::1]" in hook.url
                else ""
            )
            problems.append(f"webhook {hook.id}: url: {e.reason}{hint}")
    if problems:
        raise ConfigError(problems)


def pairs(office: Office) -> list[tuple[str, str]]:
    """(webhook id, location id) of every deliverer the configuration asks for."""
    return [
        (hook.id, loc.id)
        for hook in office.webhooks
        for loc in office.locations
        if hook.serves(loc.id)
    ]


class Webhooks:
    """The deliverers of this process, started and stopped with the app."""

    def __init__(
        self,
        store: WebhookStore,
        office: Office,
        keys: dict[str, bytes],
        metrics: Metrics,
        *,
        allow_loopback: bool = False,
        timing: WebhookTiming | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        hooks = {hook.id: hook for hook in office.webhooks}
        self.deliverers = [
            Deliverer(
                store,
                hooks[hook_id],
                keys[hook_id],
                location,
                office.tz,
                metrics,
                allow_loopback=allow_loopback,
                timing=timing,
                resolver=resolver,
            )
            for hook_id, location in pairs(office)
        ]
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(supervise(f"webhook {d.hook.id} {d.location}", d.run))
            for d in self.deliverers
        ]

    async def stop(self) -> None:
        """Cancel every deliverer; each gives up its lease, so another process goes on now."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
