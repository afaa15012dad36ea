"""What is wrong with an office configuration, in words an operator can act on.

Two kinds of problem: a value of the wrong type or shape (pydantic's, described as
``location sued, queue A: service_minutes: Input should be greater than 0``), and what the
shape alone cannot say - ids used twice, references that do not resolve. The latter are
read from the file's own data, so that they are found whatever else is wrong in it, and
one run of ``waitboard check-config`` names everything to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Roles whose devices belong to no location.
OFFICE_WIDE_ROLES = ("admin", "caseworker")
#: Location ids the office's own keys take as their hash tag (store/keys/office.py: the
#: staff directory and its audit ``{staff}``, the applications ``{apps}``, reports, jobs):
#: a location of such an id would share, or overwrite, their keys.
RESERVED_LOCATION_IDS = ("staff", "apps", "reports", "jobs")
#: How the lists of the file are called in a message.
_LABELS = {
    "locations": "location",
    "queues": "queue",
    "counters": "counter",
    "zones": "zone",
    "devices": "device",
    "webhooks": "webhook",
}


def cross_check(raw: dict[str, Any]) -> Iterable[str]:
    """Unique ids and references that must resolve, location by location, then devices."""
    locations = _items(raw, "locations")
    yield from _duplicates("location", _ids(locations), "")
    for reserved in sorted(set(_ids(locations)) & set(RESERVED_LOCATION_IDS)):
        yield (
            f"location {reserved}: id: '{reserved}' is reserved for the office's own records "
            f"({', '.join(RESERVED_LOCATION_IDS)} are); choose another id"
        )
    for loc in locations:
        yield from _location_problems(loc)
    yield from _device_problems(_items(raw, "devices"), locations)
    if isinstance(raw.get("sign_in"), dict):
        counters_at = {
            loc["id"]: _ids(_items(loc, "counters"))
            for loc in locations
            if isinstance(loc.get("id"), str)
        }
        yield from sign_in_problems(raw["sign_in"], counters_at)


def _location_problems(loc: dict[str, Any]) -> Iterable[str]:
    where = f"location {loc.get('id')}, "
    queues, counters = _items(loc, "queues"), _items(loc, "counters")
    queue_ids = _ids(queues)
    yield from _duplicates("queue", queue_ids, where)
    yield from _duplicates("counter", _ids(counters), where)
    yield from _duplicates("zone", _ids(_items(loc, "zones")), where)
    for c in counters:
        here = f"{where}counter {c.get('id')}: queues: "
        for served in _strings(c, "queues"):
            if served not in queue_ids:
                yield (
                    f"{here}'{served}' is not a queue of this location "
                    f"(queues: {', '.join(queue_ids)})"
                )
        yield from _duplicates("queue", _strings(c, "queues"), here)
    for q in queues:
        if isinstance(q.get("appointments"), dict):
            yield from _appointment_problems(where, q, queues, counters)


def _appointment_problems(
    where: str, q: dict[str, Any], queues: list[dict[str, Any]], counters: list[dict[str, Any]]
) -> Iterable[str]:
    """An appointment queue: its walk-in queue exists and takes no appointments itself;
    some counter serves it."""
    by_id = {other["id"]: other for other in queues if isinstance(other.get("id"), str)}
    walk_in = q["appointments"].get("walk_in_queue")
    here = f"{where}queue {q.get('id')}: appointments: walk_in_queue: "
    if isinstance(walk_in, str) and walk_in not in by_id:
        yield f"{here}'{walk_in}' is not a queue of this location (queues: {', '.join(by_id)})"
    elif isinstance(walk_in, str) and isinstance(by_id[walk_in].get("appointments"), dict):
        yield f"{here}'{walk_in}' takes appointments itself; name a walk-in queue"
    if not any(q.get("id") in _strings(c, "queues") for c in counters):
        yield (
            f"{where}queue {q.get('id')}: no counter serves it; add it to a counter's "
            "queues, or nobody with an appointment is ever called"
        )


def _device_problems(
    devices: list[dict[str, Any]], locations: list[dict[str, Any]]
) -> Iterable[str]:
    yield from _duplicates("device", _ids(devices), "")
    homes = {loc["id"]: loc for loc in locations if isinstance(loc.get("id"), str)}
    for d in devices:
        yield from _device_home_problems(d, homes)
    hashes = [h.lower() for h in (d.get("token_sha256") for d in devices) if isinstance(h, str)]
    if len(set(hashes)) != len(hashes):
        yield "devices: two devices share a token_sha256; give every device its own token"


def _device_home_problems(d: dict[str, Any], homes: dict[str, dict[str, Any]]) -> Iterable[str]:
    """A device's location exists (office-wide roles need none) and has the counters the
    device operates - only counter devices operate counters."""
    where, role, at = f"device {d.get('id')}: ", d.get("role"), d.get("location")
    operated = _strings(d, "counters")
    if at is None:
        if isinstance(role, str) and role not in OFFICE_WIDE_ROLES:
            yield f"{where}location: required for role {role}"
        return
    if not isinstance(at, str):
        return  # (its type is the shape check's to report)
    home = homes.get(at)
    if home is None:
        yield f"{where}location: '{at}' is not a configured location"
        return
    if role == "counter" and not operated:
        yield f"{where}counters: a counter device needs the counters it may operate"
    if isinstance(role, str) and role != "counter" and operated:
        yield f"{where}counters: only devices with role counter operate counters"
    counter_ids = _ids(_items(home, "counters"))
    for counter_id in operated:
        if counter_id not in counter_ids:
            yield f"{where}counters: '{counter_id}' is not a counter of location {at}"


def sign_in_problems(raw: Mapping[str, Any], counters_at: Mapping[str, Sequence[str]]) -> list[str]:
    """What the shape alone cannot say of ``[sign_in]``: the locations and counters its
    groups name exist, only counter roles name counters, office-wide roles name no
    locations and the others do."""
    rules = raw.get("groups")
    if not isinstance(rules, list):
        return []
    return [
        problem
        for i, rule in enumerate(rules)
        if isinstance(rule, dict)
        for problem in _group_rule_problems(
            f"sign_in, groups #{i + 1} ({rule.get('group')}): ", rule, counters_at
        )
    ]


def _group_rule_problems(
    where: str, rule: dict[str, Any], counters_at: Mapping[str, Sequence[str]]
) -> Iterable[str]:
    role = rule.get("role")
    locs, counters = _strings(rule, "locations"), _strings(rule, "counters")
    if role in OFFICE_WIDE_ROLES and locs:
        yield f"{where}locations: role {role} works at every location; remove them"
    if role in ("reception", "counter") and not locs:
        yield f"{where}locations: role {role} needs the locations it works at"
    if counters and role != "counter":
        yield f"{where}counters: only role counter operates counters"
    known_locations = ", ".join(counters_at)
    for loc in locs:
        if loc not in counters_at:
            yield f"{where}locations: '{loc}' is not a configured location ({known_locations})"
    known = {c for loc in locs for c in counters_at.get(loc, ())}
    for counter in counters:
        if counter not in known:
            yield f"{where}counters: '{counter}' is not a counter of {', '.join(locs)}"


def describe(err: Any, raw: dict[str, Any]) -> str:
    """A pydantic error as ``location sued, queue A: field: message``: the tables named by
    their ids (or their place, ``queue #2``, where the id is missing)."""
    loc: tuple[Any, ...] = err["loc"]
    parts, rest = _named_path(loc, raw)
    field = ".".join(str(k) for k in rest)
    message = {
        "extra_forbidden": "unknown field (check the spelling)",
        "missing": "required",
    }.get(err["type"], err["msg"].removeprefix("Value error, "))
    where = ", ".join(parts)
    text = f"{field}: {message}" if field else message
    return f"{where}: {text}" if where else text


def _named_path(loc: tuple[Any, ...], raw: dict[str, Any]) -> tuple[list[str], tuple[Any, ...]]:
    """The leading tables of an error's location by name, and what is left (the field)."""
    parts: list[str] = []
    node: Any = raw
    i = 0
    while i + 1 < len(loc) and loc[i] in _LABELS and isinstance(loc[i + 1], int):
        key, index = loc[i], loc[i + 1]
        items = node.get(key) if isinstance(node, dict) else None
        item = items[index] if isinstance(items, list) and index < len(items) else None
        ident = item.get("id") if isinstance(item, dict) else None
        label = _LABELS[key]
        parts.append(
            f"{label} {ident}" if isinstance(ident, str) and ident else f"{label} #{index + 1}"
        )
        node, i = item, i + 2
    return parts, loc[i:]


def _items(node: Any, key: str) -> list[dict[str, Any]]:
    """The tables of a list in the file (``[[locations]]``, ``[[devices]]``...), skipping
    what is not a table: its type is the shape check's to report."""
    found = node.get(key) if isinstance(node, dict) else None
    return [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items if isinstance(i.get("id"), str)]


def _strings(node: dict[str, Any], key: str) -> list[str]:
    found = node.get(key)
    return [v for v in found if isinstance(v, str)] if isinstance(found, list) else []


def _duplicates(kind: str, ids: list[str], where: str) -> Iterable[str]:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            yield f"{where}{kind} {i}: id is used more than once"
        seen.add(i)
