"""A location's keys and channel (every key of one location), and how each reaches the Lua
scripts. The keys of no location: :mod:`waitboard.store.keys.office`.

All keys of one location share the hash tag ``{location}``, so every command (one Lua
script) touches a single hash slot and the same scripts run on Redis Cluster.

How a script gets its keys (one convention for every script, :func:`location_keys`): the
keys it can be told before it runs come in ``KEYS[]`` - a location's own keys (``KEYS``
column ``own``, in :data:`LOCATION_KEYS` order), the Idempotency-Key record when the
request has one, then the key of each queue and each counter of the office's layout
(``layout``). A key named by a value the script only reads in Redis - a ticket id taken
from a queue, the stored business day, a code hash from a day's list - or by a queue or
counter that the configuration no longer has (its tickets are still closed when the day
ends) cannot be passed in ``KEYS[]``: the script gets its *template* instead
(:func:`location_templates`, column ``template``), a pattern such as
``wb:{sued}:t:<ticket>`` in which it puts the values. A template carries the
location's hash tag, so its keys stay in the slot of ``KEYS[1]``.

=======================  ==========  ========  ==============================================
key                      type        KEYS      content
=======================  ==========  ========  ==============================================
``meta``                 hash        own       ``epoch``, ``seq``, ``day`` (the business
                                               day), ``order`` (the queues' joining order)
``events``               stream      own       every change, capped (``MAXLEN ~``)
``calls``                list        own       today's calls as JSON, newest first, at most 10
``n``                    hash        own       today's last number per queue
``open``                 set         own       ids of tickets waiting, called or served
``learn``                hash        own       what the estimate learns: service times,
                                               arrival gaps, show-up shares, ranges,
                                               pause lengths by reason, usual calls per
                                               weekday and hour
``calib``                list        own       recent ``estimate:actual`` pairs (s), newest
                                               first
``counters``             set         own       ids of counters ever opened
``occ``                  hash        own       per waiting zone the latest door count, JSON
``audit``                stream      own       every staff action (core/audit.py)
``idem:<sha256>``        string      idem      stored answer for an Idempotency-Key, 24 h
``q:<queue>``            sorted set  layout    waiting ticket ids, scored by joining order
                                               (by slot time in an appointment queue)
``c:<counter>``          hash        layout    ``open`` (0/1), ``ticket`` (current ticket id
                                               or ""), ``paused`` (a reason or ""),
                                               ``paused_at``, ``since``/``since_day``
                                               (the present state's start, for the day's
                                               time per state)
``t:<ticket id>``        hash        template  one ticket (number, queue, status, times,
                                               counter)
``stats:<day>``          hash        template  one day's figures (counts and sums, and
                                               ``ctime:<counter>:<state>`` seconds), 400 days
``waits:<day>:<queue>``  list        template  one day's waits of a queue (s), 400 days
``appt:<sha256>``        hash        template  a booking, by the SHA-256 of its code (queue,
                                               day, slot, status, ticket; under an
                                               Idempotency-Key the keyed digests of the
                                               request and of its client, never an address
                                               or a cookie); gone two days after its day
``appt:slots:<d>:<q>``   hash        template  places taken per slot start (ms) of queue q
                                               on day d
``appt:expect:<d>:<q>``  hash        template  of those, booked and not arrived yet (for the
                                               estimate)
``appt:day:<d>``         sorted set  template  the day's bookings (code hashes) by slot start
``appt:contact:<sha>``   string      template  an optional contact, until the end of the
                                               booking's day
``ch``                   channel     argument  doorbell ``{"epoch","seq","ts"}`` after every
                                               change (a channel is no key: ``channel``)
=======================  ==========  ========  ==============================================

A webhook's delivery of a location (:mod:`waitboard.store.webhooks`) keeps two keys under
the location's hash tag, so that its scripts touch the event stream's slot only:

=======================  ======  ==========================================================
key                      type    content
=======================  ======  ==========================================================
``hook:<id>:lease``      string  the token of the one process delivering, with a TTL
``hook:<id>:cursor``     hash    ``after`` (the stream id last delivered or skipped),
                                 ``seq`` (its seq); kept while the webhook is configured
=======================  ======  ==========================================================


A location's push subscriptions (:mod:`waitboard.store.push`) are no script's business:
``wb:{<location>}:push`` (set) names the tickets that have some, ``wb:{<location>}:push:
<ticket>`` (hash) holds each subscription of one ticket as JSON (endpoint, keys, what it
was told), deleted when the ticket ends; ``wb:{<location>}:pushlock`` is held for a few
seconds by the process comparing them, ``wb:{<location>}:pushseen`` names the state
(``epoch:seq``) they were last compared at.

Service levels (:mod:`waitboard.store.service_levels`) are no script's business either, but
one: ``wb:{<location>}:sla:<queue>`` (hash) is a queue's alert episode (``opened``, ``calm``,
``mailed``: ms since it left its target, since it is back, whether its mail was scheduled),
opened by ``scripts/service_levels/open.lua`` together with the ``service_level`` event on
the stream; ``wb:{<location>}:slalook`` is held for a few seconds by the process that looks
at the location's queues, so that one process at a time decides.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

NAMESPACE = "wb"


def prefix(location: str) -> str:
    return f"{NAMESPACE}:{{{location}}}:"


#: A location's own keys (table: ``own``) in the order of every script's ``KEYS[1..10]``.
LOCATION_KEYS = tuple(
    ["meta", "events", "calls", "n", "open", "learn", "calib", "counters", "occ", "audit"]
)

#: The keys a script names from values it reads in Redis (the table's ``template``), as
#: patterns: ``<name>`` stands for a value.
TEMPLATES = {
    "ticket": "t:<ticket>",
    "queue": "q:<queue>",
    "counter": "c:<counter>",
    "stats": "stats:<day>",
    "waits": "waits:<day>:<queue>",
    "booking": "appt:<code>",
    "slots": "appt:slots:<day>:<queue>",
    "expect": "appt:expect:<day>:<queue>",
    "day_bookings": "appt:day:<day>",
    "contact": "appt:contact:<code>",
}


def location_keys(location: str) -> list[str]:
    """``KEYS[1..10]`` of every script of a location: its own keys (:data:`LOCATION_KEYS`)."""
    return [prefix(location) + name for name in LOCATION_KEYS]


def layout_keys(location: str, queues: Sequence[str], counters: Sequence[str]) -> list[str]:
    """The last ``KEYS[]`` of every script of a location: the key of each of the layout's
    queues, then of each of its counters, in the order given (the script's layout)."""
    return [queue(location, q) for q in queues] + [counter(location, c) for c in counters]


def location_templates(location: str) -> dict[str, list[str]]:
    """The key templates a script of a location gets (in its arguments, ``templates``), each
    as the text around its values - ``wb:{sued}:waits:<day>:<queue>`` as
    ``["wb:{sued}:waits:", ":", ""]`` - so that the script joins them with the values, in
    the template's order, as cheaply as it joins any strings."""
    return {
        name: re.split(r"<\w+>", prefix(location) + pattern) for name, pattern in TEMPLATES.items()
    }


def _filled(location: str, name: str, **values: str) -> str:
    key = prefix(location) + TEMPLATES[name]
    for field, value in values.items():
        key = key.replace(f"<{field}>", value)
    return key


def meta(location: str) -> str:
    return prefix(location) + "meta"


def channel(location: str) -> str:
    """The doorbell of a location (a channel, so the scripts get it as an argument)."""
    return prefix(location) + "ch"


def events(location: str) -> str:
    return prefix(location) + "events"


def webhook_lease(location: str, webhook_id: str) -> str:
    """Who delivers webhook ``webhook_id``'s messages of this location (a token, with a TTL)."""
    return f"{prefix(location)}hook:{webhook_id}:lease"


def webhook_cursor(location: str, webhook_id: str) -> str:
    """How far webhook ``webhook_id`` has delivered this location's event stream."""
    return f"{prefix(location)}hook:{webhook_id}:cursor"


def learned(location: str) -> str:
    return prefix(location) + "learn"


def open_tickets(location: str) -> str:
    return prefix(location) + "open"


def ticket(location: str, ticket_id: str) -> str:
    return _filled(location, "ticket", ticket=ticket_id)


def queue(location: str, queue_id: str) -> str:
    return _filled(location, "queue", queue=queue_id)


def counter(location: str, counter_id: str) -> str:
    return _filled(location, "counter", counter=counter_id)


def push_tickets(location: str) -> str:
    """The location's tickets that have push subscriptions (set of ticket ids)."""
    return prefix(location) + "push"


def push_subscriptions(location: str, ticket_id: str) -> str:
    """One ticket's push subscriptions (hash: subscription id -> JSON); deleted when the
    ticket ends, and expiring with the tickets of its day in any case."""
    return prefix(location) + "push:" + ticket_id


def push_compared(location: str) -> str:
    """The location's state (``epoch:seq``) its push subscriptions were last compared at."""
    return prefix(location) + "pushseen"


def service_level(location: str, queue: str) -> str:
    """A queue's service-level alert episode (hash: ``opened``, ``calm``, ``mailed``)."""
    return prefix(location) + "sla:" + queue


def service_level_look(location: str) -> str:
    """Held (a few seconds) by the process looking at the location's service levels."""
    return prefix(location) + "slalook"


def push_lock(location: str) -> str:
    """Held (a few seconds) by the process comparing the location's subscriptions."""
    return prefix(location) + "pushlock"


def day_stats(location: str, day: str) -> str:
    return _filled(location, "stats", day=day)


def booking_contact(location: str, code_hash: str) -> str:
    return _filled(location, "contact", code=code_hash)


def idempotency(location: str, device_id: str, key: str) -> str:
    """Keys are scoped per device: one device can never replay another's answers."""
    digest = hashlib.sha256(f"{device_id}\n{key}".encode()).hexdigest()
    return prefix(location) + "idem:" + digest


def location_of_channel(name: str) -> str | None:
    """``wb:{sued}:ch`` -> ``sued``."""
    head = f"{NAMESPACE}:{{"
    if name.startswith(head) and name.endswith("}:ch"):
        return name[len(head) : -len("}:ch")]
    return None
