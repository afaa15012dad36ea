"""The keys that belong to no location: staff sessions and directory, reports of barriers,
applications, rate limits, outbound jobs.

Outside the locations: ``wb:session:revoked:<sha256 of the session id>`` marks a logged-out
staff session until its cookie would have expired anyway; ``wb:{reports}:r:<id>`` (hash)
is one report of a barrier and ``wb:{reports}:all`` (sorted set) their ids by time.
``wb:{staff}:*``: the staff directory, signed-in people's sessions, the subjects' pseudonyms
(docs/staff-sign-in.md).

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
``wb:app:{apps}:audit``              stream  every application's changes (core/audit.py)
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

from waitboard.store.keys.locations import NAMESPACE, prefix


def revoked_session(digest: str) -> str:
    """A staff session ended by logout before its cookie expired (no location: global);
    named by a digest of its id, which is in the cookie."""
    return f"{NAMESPACE}:session:revoked:{digest}"


def staff_session(digest: str, part: str = "session") -> str:
    """A person's session, its re-check's lock (``part`` "recheck"), a sign-in ("flow")."""
    return f"{NAMESPACE}:{{staff}}:{part}:{digest}"


def staff_subjects() -> str:
    """The provider's subjects (a keyed digest of issuer and sub) -> person ids (hash). (The
    unkeyed ``wb:{staff}:subjects`` of earlier versions is read no more: delete it.)"""
    return f"{NAMESPACE}:{{staff}}:subject-ids"


def staff_subject_of() -> str:
    """Person ids -> their subject's keyed digest (hash): what a deletion removes."""
    return f"{NAMESPACE}:{{staff}}:subject-of"


def staff_person_sessions(person: str) -> str:
    """A person's sessions (sorted set: session digest by expiry, ms): what a deletion ends."""
    return f"{NAMESPACE}:{{staff}}:person-sessions:{person}"


def application_keys(number: str) -> list[str]:
    """``KEYS[1..5]`` of every application command (``applications/lib.lua``)."""
    return [
        application(number),
        application_audit(number),
        applications_recent(),
        applications_deleting(),
        audit("_applications"),
    ]


def audit(owner: str) -> str:
    """Staff actions (core/audit.py): a location's, ``_applications``' or ``_staff``'."""
    special = {"_applications": applications_prefix(), "_staff": f"{NAMESPACE}:{{staff}}:"}
    return special.get(owner, prefix(owner)) + "audit"


def audit_pattern() -> str:
    """A SCAN pattern that matches every audit stream's key (:func:`audit`), of a
    location no longer configured too."""
    return f"{NAMESPACE}:*:audit"


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


def staff_directory() -> str:
    """Pseudonymous person id -> display name and last sign-in (``staff_directory.py``)."""
    return f"{NAMESPACE}:{{staff}}:names"


def barrier_report(report_id: str) -> str:
    """One report of a barrier (hash: page, text, language, time, optional contact)."""
    return f"{NAMESPACE}:{{reports}}:r:{report_id}"


def barrier_reports() -> str:
    """The reports by time (sorted set of ids), for the admin's list."""
    return f"{NAMESPACE}:{{reports}}:all"


#: What every rate-limit key starts with.
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
