"""Webhooks: the office's own systems (a CRM, a chat, a dashboard) told of every change.

This module holds what a webhook is in the office configuration (``[[webhooks]]``) and
what it is sent: each event of a location's stream as one JSON message, with only the
fields anyone may see. Citizens stay numbers: a message names ticket numbers, queues,
counters, waiting zones and times - never a ticket's id (it opens the citizen's own page
and its push subscriptions), a booking's code or contact, or a name. The fields are an
allow-list per event type: a field a future script adds is left out until it is named here.

The signature (Standard Webhooks) is in :mod:`waitboard.core.webhook_signature`; when to
retry, in :mod:`waitboard.core.webhook_delivery`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from waitboard.core.clock import iso
from waitboard.core.outbound import OutboundPolicy, OutboundRefused

WebhookId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=1, max_length=40)]
EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$", max_length=100)]

#: The message a deliverer sends where the stream was trimmed past what it had delivered.
GAP = "gap"


def _ms(value: str, tz: tzinfo) -> str | None:
    """Milliseconds since the epoch (as the scripts write them) as ISO 8601 local time."""
    try:
        return iso(int(float(value)), tz)
    except (ValueError, OverflowError, OSError):
        return None


def _int(value: str, tz: tzinfo) -> int | None:
    try:
        return int(float(value))
    except (ValueError, OverflowError):
        return None


def _float(value: str, tz: tzinfo) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _text(value: str, tz: tzinfo) -> str:
    return value


def _flag(value: str, tz: tzinfo) -> bool:
    return value in ("1", "true")


Convert = Callable[[str, tzinfo], Any]
_TICKET_AT_COUNTER: dict[str, Convert] = {"number": _text, "queue": _text, "counter": _text}

#: Each event type with the fields a message carries, and how each is read from the stream.
PUBLIC_FIELDS: dict[str, dict[str, Convert]] = {
    "issued": {"number": _text, "queue": _text, "slot": _ms, "late": _flag},
    "called": _TICKET_AT_COUNTER,
    "recalled": _TICKET_AT_COUNTER,
    "started": _TICKET_AT_COUNTER,
    "completed": _TICKET_AT_COUNTER,
    "no_show": _TICKET_AT_COUNTER,
    "cancelled": _TICKET_AT_COUNTER,
    "transferred": {"number": _text, "queue": _text, "from_queue": _text},
    "counter_opened": {"counter": _text},
    "counter_closed": {"counter": _text},
    "counter_paused": {"counter": _text, "reason": _text},
    "counter_resumed": {"counter": _text, "reason": _text},
    "occupancy": {"zone": _text, "count": _int},
    "booked": {"queue": _text, "slot": _ms},
    "booking_moved": {"queue": _text, "from": _ms, "to": _ms},
    "booking_cancelled": {"queue": _text, "slot": _ms},
    "day_start": {"day": _text},
    "day_end": {"day": _text, "closed": _int},
    # A queue left its service-level target (docs/service-levels.md): numbers only.
    "service_level": {
        "queue": _text,
        "state": _text,
        "longest_wait_s": _int,
        "forecast_s": _int,
        "share_today": _float,
        "target_share": _float,
        "target_within_minutes": _int,
    },
}
EventType = Literal[
    "issued",
    "called",
    "recalled",
    "started",
    "completed",
    "no_show",
    "cancelled",
    "transferred",
    "counter_opened",
    "counter_closed",
    "counter_paused",
    "counter_resumed",
    "occupancy",
    "booked",
    "booking_moved",
    "booking_cancelled",
    "day_start",
    "day_end",
    "service_level",
    "gap",
]


class Webhook(BaseModel):
    """One ``[[webhooks]]`` entry: where to send, with which secret, what.

    The signing secret never stands in the configuration (a file the operator reads it into
    is shown to fewer people than a config file): ``secret_file`` names a file holding it,
    or, for development, ``secret_env`` an environment variable. ``locations`` and
    ``events`` narrow what is sent (default: every location, every event). The URL must be
    a public ``https`` address; ``allow_private = true`` also lets it reach the office's
    intranet (private addresses, never this machine, link-local or metadata addresses).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: WebhookId
    # (Before the URL: the URL's check reads it.)
    allow_private: bool = False
    url: Annotated[str, Field(min_length=1)]
    secret_file: Annotated[str, Field(min_length=1)] | None = None
    secret_env: EnvName | None = None
    locations: list[Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]] | None = None
    events: list[EventType] | None = None
    # Only so that a secret written into the file is refused with a reason, not as an
    # unknown field; it never holds a value.
    secret: None = Field(default=None, exclude=True, repr=False)

    @field_validator("secret", mode="before")
    @classmethod
    def _no_inline_secret(cls, v: Any) -> None:
        if v is not None:
            raise ValueError(
                "do not put the signing secret into the configuration; write it into a "
                "file and name that with secret_file (in development, an environment "
                "variable with secret_env)"
            )

    @field_validator("url")
    @classmethod
    def _usable_url(cls, v: str, info: ValidationInfo) -> str:
        allow_private = info.data.get("allow_private") is True
        policy = OutboundPolicy(allow_loopback=True, allow_private=allow_private)
        try:
            policy.check_url(v)
        except OutboundRefused as e:
            private = "private" in e.reason and not allow_private
            hint = "; for an intranet address set allow_private = true" if private else ""
            raise ValueError(f"{e.reason}{hint}") from None
        return v

    @field_validator("events")
    @classmethod
    def _events_named(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and not v:
            raise ValueError("an empty list sends nothing; leave events out to send all")
        return v

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if (self.secret_file is None) == (self.secret_env is None):
            raise ValueError(
                "secret_file: name the file that holds the signing secret (or, in "
                "development, secret_env: an environment variable) - exactly one of them"
            )
        return self

    def policy(self, *, allow_loopback: bool) -> OutboundPolicy:
        """Where this webhook may send: public https, its intranet when allowed."""
        return OutboundPolicy(
            allow_loopback=allow_loopback,
            allow_private=self.allow_private,
            label="webhook address",
        )

    def wants(self, event_type: str) -> bool:
        """A gap is always sent: it says that messages may be missing."""
        return self.events is None or event_type == GAP or event_type in self.events

    def serves(self, location: str) -> bool:
        return self.locations is None or location in self.locations


def webhook_problems(raw: Mapping[str, Any]) -> Iterable[str]:
    """What the shape alone cannot say: ids used twice, locations that do not exist."""
    hooks = raw.get("webhooks")
    if not isinstance(hooks, list):
        return
    locations = raw.get("locations")
    known = [
        loc["id"]
        for loc in (locations if isinstance(locations, list) else [])
        if isinstance(loc, dict) and isinstance(loc.get("id"), str)
    ]
    seen: set[str] = set()
    for hook in hooks:
        if not isinstance(hook, dict):
            continue
        hook_id = hook.get("id")
        if isinstance(hook_id, str):
            if hook_id in seen:
                yield f"webhook {hook_id}: id is used more than once; give each its own"
            seen.add(hook_id)
        names = hook.get("locations")
        for name in names if isinstance(names, list) else []:
            if isinstance(name, str) and name not in known:
                yield (
                    f"webhook {hook_id}: locations: '{name}' is not a configured location "
                    f"(locations: {', '.join(known)})"
                )


def message_id(location: str, entry_id: str) -> str:
    """The ``webhook-id`` of the message for one stream entry: the same on every retry and
    in every process, so a receiver can drop a message it has already had."""
    return f"msg_{location}_{entry_id}"


def gap_message_id(location: str, after: str) -> str:
    return f"msg_{location}_gap_{after}"


def event_message(
    location: str, entry_id: str, fields: Mapping[str, str], tz: tzinfo
) -> dict[str, Any]:
    """The JSON body for one stream entry: ``id``, ``type``, ``location``, ``at`` (ISO 8601
    in the office's time zone), ``seq`` (the location's change counter; one command's events
    share it) and ``data``, the event's public fields only."""
    kind = fields.get("type", "")
    data: dict[str, Any] = {}
    for name, convert in PUBLIC_FIELDS.get(kind, {}).items():
        value = fields.get(name)
        if value not in (None, ""):
            data[name] = convert(value, tz)
    return {
        "id": message_id(location, entry_id),
        "type": kind,
        "location": location,
        "at": _ms(fields.get("at", ""), tz),
        "seq": _int(fields.get("seq", ""), tz),
        "data": data,
    }


def gap_message(
    location: str, after: str, last_seq: int, next_seq: int | None, now: datetime
) -> dict[str, Any]:
    """The body that says messages may be missing: the location's event stream was trimmed
    past the last one delivered (the receiver was unreachable for long). ``data`` names the
    seq of the last message delivered and of the next one to come; what lies between is
    gone - the receiver reads the current state from the public API."""
    return {
        "id": gap_message_id(location, after),
        "type": GAP,
        "location": location,
        "at": now.isoformat(timespec="seconds"),
        "seq": None,
        "data": {"last_delivered_seq": last_seq, "next_seq": next_seq},
    }
