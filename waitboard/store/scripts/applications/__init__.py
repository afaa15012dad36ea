"""The Lua scripts of application status, each atomic in Redis.

A command (``create``, ``stage``, ``pin``, ``schedule``, ``delete``) is ``lib.lua`` (the
shared prelude, see its header for the calling convention and the guarantees) followed by
the command's own file. ``sweep`` (the deleted applications off the recent list) stands
alone. (The lookup's limits are rate limits: :mod:`waitboard.store.limits`.)
"""

from __future__ import annotations

from functools import cache
from importlib import resources

#: Scripts that run behind the prelude.
COMMANDS = ("create", "stage", "pin", "schedule", "delete")
#: Scripts on their own.
COUNTERS = ("sweep",)


@cache
def source(name: str) -> str:
    """The full text of one script, the prelude in front of a command. Read once per
    process: the store is built per request (see ``application_api.store_of``)."""
    if name not in COMMANDS and name not in COUNTERS:
        raise KeyError(name)
    files = resources.files(__name__)
    body = (files / f"{name}.lua").read_text(encoding="utf-8")
    if name in COUNTERS:
        return body
    return (files / "lib.lua").read_text(encoding="utf-8") + "\n" + body
