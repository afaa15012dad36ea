"""Prometheus metrics of one server process.

Each app owns its registry (no module-level state), so tests and several apps in one
process do not mix their numbers. With ``--workers N`` every worker reports its own; the
operator's Prometheus sums them per instance.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.tickets_issued = Counter(
            "waitboard_tickets_issued",
            "Tickets issued through this process.",
            ["location", "queue"],
            registry=r,
        )
        self.calls = Counter(
            "waitboard_calls",
            "Tickets called to a counter (recalls included).",
            ["location", "kind"],
            registry=r,
        )
        self.commands = Counter(
            "waitboard_commands",
            "Commands by outcome (HTTP status).",
            ["command", "status"],
            registry=r,
        )
        self.ws_clients = Gauge(
            "waitboard_ws_clients", "Connected WebSocket clients.", ["location"], registry=r
        )
        self.ws_dropped = Counter(
            "waitboard_ws_dropped_slow",
            "WebSocket clients dropped because they did not keep up.",
            registry=r,
        )
        self.hub_reloads = Counter(
            "waitboard_hub_reloads",
            "Location state reloaded from Redis, once for each of its reasons; 'held': a "
            "change left for the next read (nobody watches); 'unchanged': counted again, a "
            "reload that found the seq already shown and sent nothing.",
            ["reason"],
            registry=r,
        )
        self.hub_redis_up = Gauge(
            "waitboard_hub_redis_up", "1 while the hub's pub/sub link to Redis is up.", registry=r
        )
        self.publish_to_send = Histogram(
            "waitboard_publish_to_send_seconds",
            "From a change's commit in Redis to its snapshot being handed to the clients.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )

        self.outbound = Counter(
            "waitboard_outbound_jobs",
            "Outbound messages by kind (push, ...) and what became of each attempt: sent, "
            "retry, gone (the receiver said it is gone), given_up.",
            ["kind", "outcome"],
            registry=r,
        )
        self.rate_limited = Counter(
            "waitboard_rate_limited",
            "Requests refused by a rate limit, by the bucket that was full (public, "
            "websocket, failures, bookings, lookup).",
            ["bucket"],
            registry=r,
        )
        self.rate_limit_unavailable = Counter(
            "waitboard_rate_limit_unavailable",
            "Requests let through unchecked because Redis could not be asked (the rate "
            "limits fail open).",
            registry=r,
        )

        self.webhook_deliveries = Counter(
            "waitboard_webhook_deliveries",
            "Webhook requests by webhook and outcome: delivered (2xx), rejected (a 4xx that "
            "is not retried: the message was skipped), retried (answered, sent again "
            "later), timeout, unreachable, refused (the address is not allowed; nothing "
            "was sent).",
            ["webhook", "outcome"],
            registry=r,
        )
        self.webhook_gaps = Counter(
            "waitboard_webhook_gaps",
            "Gap messages sent: a location's events were trimmed before the webhook "
            "delivered them.",
            ["webhook"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
