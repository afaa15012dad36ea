"""What a command that went through did, in words of the domain, not of a protocol: the
edges say it in theirs (an HTTP status, a page)."""

from __future__ import annotations

from enum import StrEnum


class OutcomeKind(StrEnum):
    """The kind of a command's success (the scripts' ``answer(kind, ...)``)."""

    #: Something new exists: a ticket, a booking, an application.
    CREATED = "created"
    #: The change is made, or was so already (opening an open counter); there is news to
    #: tell (the ticket, the counter, the location).
    DONE = "done"
    #: There was nothing to do, and nothing to tell: a call with nobody waiting.
    NOTHING = "nothing"
