"""Every Redis key and channel name waitboard uses, and how each reaches the Lua scripts.

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
                                               usual calls per weekday and hour
``calib``                list        own       recent ``estimate:actual`` pairs (s), newest
                                               first
``counters``             set         own       ids of counters ever opened
``occ``                  hash        own       per waiting zone the latest door count, JSON
``idem:<sha256>``        string      idem      stored answer for an Idempotency-Key, 24 h
``q:<queue>``            sorted set  layout    waiting ticket ids, scored by joining order
                                               (by slot time in an appointment queue)
``c:<counter>``          hash        layout    ``open`` (0/1), ``ticket`` (current ticket id
                                               or "")
``t:<ticket id>``        hash        template  one ticket (number, queue, status, times,
                                               counter)
``stats:<day>``          hash        template  one day's figures (counts and sums), 400 days
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

Outside the locations: ``wb:session:revoked:<sha256 of the session id>`` marks a logged-out
staff session until its cookie would have expired anyway; ``wb:{reports}:r:<id>`` (hash)
is one report of a barrier and ``wb:{reports}:all`` (sorted set) their ids by time.

Applications (status lookup, :mod:`waitboard.store.applications`) belong to no location. Their
keys share the hash tag ``{apps}``, so each script touches one hash slot and runs unchanged
on Redis Cluster (an office's applications are small and few enough for one slot). The
lookup's limits are rate limits (below). Their scripts get every key in ``KEYS[]``
(:func:`application_keys`, then the Idempotency-Key record, then a command's own).

===================================  ======  ===============================================
key                                  type    content
===================================  ======  ===============================================
``wb:app:{apps}:a:<number>``         hash    ``number``, ``stage``, ``missing`` (JSON list),
                                             ``pin`` (scrypt record, never the PIN),
                                             ``created_at``, ``updated_at``, once
                                             decided ``delete_at`` (ms); expires then;
                                             ``idem``: its Idempotency-Key records
                                             of the last 24 h (at most 100), each as
                                             ``<key>@<expiry ms>``
``wb:app:{apps}:audit:<number>``     stream  every change: ``at``, ``device``, ``action``,
                                             ``number``, ``old_stage``, ``stage``,
                                             ``missing``; never trimmed (it is the
                                             record); expires with the hash
``wb:app:{apps}:recent``             zset    numbers scored by their last change (ms)
``wb:app:{apps}:deleting``           zset    decided numbers scored by ``delete_at``: the
                                             sweep takes them off ``recent`` when due
``wb:app:{apps}:idem:<sha256>``      string  the answer stored for an Idempotency-Key
                                             (never a PIN), 24 h; once its application
                                             is deleted by hand, only that
===================================  ======  ===============================================

Rate limits (:mod:`waitboard.store.limits`) belong to no location either. Each bucket is one key,
tagged with its subject (a client address or a looked-up application number), so one
script takes from all of a subject's buckets together in one hash slot.

===================================  ======  ===============================================
key                                  type    content
===================================  ======  ===============================================
``wb:rl:{<hmac>}:<bucket>``          string  when the bucket is at rest again (ms, GCRA);
                                             ``<bucket>``: ``public``, ``websocket``,
                                             ``failures``, ``bookings`` (per address),
                                             ``lookup`` (per address or per number);
                                             expires as it comes to rest
===================================  ======  ===============================================

A location's push subscriptions (:mod:`waitboard.store.push`) are no script's business:
``wb:{<location>}:push`` (set) names the tickets that have some, ``wb:{<location>}:push:
<ticket>`` (hash) holds each subscription of one ticket as JSON (endpoint, keys, what it
was told), deleted when the ticket ends; ``wb:{<location>}:pushlock`` is held for a few
seconds by the process comparing them, ``wb:{<location>}:pushseen`` names the state
(``epoch:seq``) they were last compared at.

Outbound jobs (:mod:`waitboard.store.jobs`: push messages, reminders) share the hash tag
``{jobs}``; each job script touches that one slot.

===================================  ======  ===============================================
key                                  type    content
===================================  ======  ===============================================
``wb:{jobs}:due``                    zset    job keys scored by when they are due (ms); a
                                             claimed job is due again when its lease ends
``wb:{jobs}:j:<id>``                 hash    ``kind``, ``body`` (JSON), ``attempt``;
                                             deleted when sent or given up
``wb:{jobs}:done:<id>``              string  a job done lately: the id is not added again
===================================  ======  ===============================================

``<hmac>`` is :func:`waitboard.core.application_pins.keyed_digest`: neither an address nor a
string a guesser typed is stored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

NAMESPACE = "wb"


def prefix(location: str) -> str:
    return f"{NAMESPACE}:{{{location}}}:"


#: A location's own keys (the table's ``own``), in the order every script of a location
#: gets them as ``KEYS[1..9]`` (``lib.lua`` names them so).
LOCATION_KEYS = ("meta", "events", "calls", "n", "open", "learn", "calib", "counters", "occ")

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
    """``KEYS[1..9]`` of every script of a location: its own keys (:data:`LOCATION_KEYS`)."""
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


def revoked_session(digest: str) -> str:
    """A staff session ended by logout before its cookie expired (no location: global);
    named by a digest of its id, which is in the cookie."""
    return f"{NAMESPACE}:session:revoked:{digest}"


def application_keys(number: str) -> list[str]:
    """``KEYS[1..4]`` of every application command (``applications/lib.lua``)."""
    return [
        application(number),
        application_audit(number),
        applications_recent(),
        applications_deleting(),
    ]


def applications_prefix() -> str:
    return f"{NAMESPACE}:app:{{apps}}:"


def application(number: str) -> str:
    return applications_prefix() + "a:" + number


def application_audit(number: str) -> str:
    return applications_prefix() + "audit:" + number


def applications_recent() -> str:
    return applications_prefix() + "recent"


def applications_deleting() -> str:
    return applications_prefix() + "deleting"


def application_idempotency(device_id: str, key: str) -> str:
    """Scoped per device: one device can never replay another's answers."""
    digest = hashlib.sha256(f"{device_id}\n{key}".encode()).hexdigest()
    return applications_prefix() + "idem:" + digest


#: What every rate-limit key starts with.
def barrier_report(report_id: str) -> str:
    """One report of a barrier (hash: page, text, language, time, optional contact)."""
    return f"{NAMESPACE}:{{reports}}:r:{report_id}"


def barrier_reports() -> str:
    """The reports by time (sorted set of ids), for the admin's list."""
    return f"{NAMESPACE}:{{reports}}:all"


RATE_LIMIT_PREFIX = f"{NAMESPACE}:rl:"

#: What a job's id may be: it becomes part of its key (and the receiver's duplicate check).
JOB_ID = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


def job_schedule() -> str:
    """Outbound jobs by when they are due (sorted set of job keys, ms): push messages,
    reminders. One hash tag for all of them: a claim is one script."""
    return f"{NAMESPACE}:{{jobs}}:due"


def job(job_id: str) -> str:
    """One job (hash: kind, body, attempt)."""
    if not JOB_ID.fullmatch(job_id):
        raise ValueError(f"not a job id: {job_id!r}")
    return f"{NAMESPACE}:{{jobs}}:j:{job_id}"


def job_done(job_id: str) -> str:
    """A job done lately (string with a time to live): the same id is not added again."""
    job(job_id)  # (checks it)
    return f"{NAMESPACE}:{{jobs}}:done:{job_id}"


def rate_limit(subject: str, bucket: str) -> str:
    """One bucket of one subject; ``subject`` is the keyed digest of an address or a number,
    and the hash tag: all of a subject's buckets share one slot."""
    return f"{RATE_LIMIT_PREFIX}{{{subject}}}:{bucket}"


def location_of_channel(name: str) -> str | None:
    """``wb:{sued}:ch`` -> ``sued``."""
    head = f"{NAMESPACE}:{{"
    if name.startswith(head) and name.endswith("}:ch"):
        return name[len(head) : -len("}:ch")]
    return None
