"""Every Redis key and channel name waitboard uses.

All keys of one location share the hash tag ``{location}``, so every command (one Lua
script) touches a single hash slot and the same scripts run on Redis Cluster. The scripts
build the per-ticket, per-queue and per-counter keys from :func:`prefix` themselves; the
suffixes are listed here so the layout can be read in one place:

=====================  ==========  =========================================================
key                    type        content
=====================  ==========  =========================================================
``meta``               hash        ``epoch``, ``seq``, ``day``, ``n:<queue>`` (numbering)
``q:<queue>``          sorted set  waiting ticket ids, scored by the seq when they joined
``t:<ticket id>``      hash        one ticket (number, queue, status, times, counter)
``c:<counter>``        hash        ``open`` (0/1), ``ticket`` (current ticket id or "")
``calls``              list        today's calls as JSON, newest first, at most 10
``events``             stream      every change, capped (``MAXLEN ~``)
``idem:<sha256>``      string      stored answer for an Idempotency-Key, 24 h
``appt:<sha256>``      hash        a booking, by the SHA-256 of its code (queue, day, slot,
                                   status, ticket; under an Idempotency-Key the keyed
                                   digests of the request and of its client, never an
                                   address or a cookie); gone two days after its day
``appt:slots:<d>:<q>`` hash        places taken per slot start (ms) of queue q on day d
``appt:expect:<d>:<q>`` hash       of those, booked and not arrived yet (for the estimate)
``appt:day:<d>``       sorted set  the day's bookings (code hashes) by slot start
``appt:contact:<sha>`` string      an optional contact, until the end of the booking's day
``ch``                 channel     doorbell ``{"epoch","seq","ts"}`` after every change
=====================  ==========  =========================================================

Outside the locations: ``wb:session:revoked:<sha256 of the session id>`` marks a logged-out
staff session until its cookie would have expired anyway.

Applications (status lookup, :mod:`waitboard.store.applications`) belong to no location. Their
keys share the hash tag ``{apps}``, so each script touches one hash slot and runs unchanged
on Redis Cluster (an office's applications are small and few enough for one slot). The
lookup's limits are rate limits (below).

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

``<hmac>`` is :func:`waitboard.applications.keyed_digest`: neither an address nor a string a
guesser typed is stored.
"""

from __future__ import annotations

import hashlib

NAMESPACE = "wb"


def prefix(location: str) -> str:
    return f"{NAMESPACE}:{{{location}}}:"


def meta(location: str) -> str:
    return prefix(location) + "meta"


def channel(location: str) -> str:
    return prefix(location) + "ch"


def events(location: str) -> str:
    return prefix(location) + "events"


def ticket(location: str, ticket_id: str) -> str:
    return prefix(location) + "t:" + ticket_id


def idempotency(location: str, device_id: str, key: str) -> str:
    """Keys are scoped per device: one device can never replay another's answers."""
    digest = hashlib.sha256(f"{device_id}\n{key}".encode()).hexdigest()
    return prefix(location) + "idem:" + digest


def revoked_session(digest: str) -> str:
    """A staff session ended by logout before its cookie expired (no location: global);
    named by a digest of its id, which is in the cookie."""
    return f"{NAMESPACE}:session:revoked:{digest}"


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
RATE_LIMIT_PREFIX = f"{NAMESPACE}:rl:"


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
