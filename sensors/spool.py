"""The terminal's durable spool: every button press is on disk before anyone hears of it.

A press is stored with a fresh Idempotency-Key and committed before its request is sent.
The commit returns only after the write-ahead log is fsync'd (WAL, ``synchronous=FULL``),
so a crash or a power cut at any moment leaves either no press (the person saw nothing
happen) or a press that the next start sends again with the same key; the server answers
a repeated key with its first answer, so a resend never issues a second ticket.

A press moves ``pending -> issued -> printed``, or ``pending -> refused`` (the server said
no, for good), or ``pending | issued -> expired`` (too old to be of use to anybody).
This module only keeps records; when to send, print or give up is the agent's business.
"""

from __future__ import annotations

import enum
import json
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS presses (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- press order = order of sending
    key        TEXT NOT NULL UNIQUE,               -- the Idempotency-Key, for every resend
    location   TEXT NOT NULL,
    queue      TEXT NOT NULL,
    pressed_at REAL NOT NULL,                      -- unix time
    state      TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    ticket     TEXT,                               -- the Ticket JSON, once issued
    refusal    TEXT,                               -- {status, code, detail}, once refused
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS presses_by_state ON presses (state, id);
CREATE TABLE IF NOT EXISTS cache (
    name      TEXT PRIMARY KEY,
    value     TEXT NOT NULL,
    stored_at REAL NOT NULL
);
"""


class SpoolError(Exception):
    """The spool cannot be opened or a press cannot make the requested move."""


class State(enum.StrEnum):
    PENDING = "pending"  # stored; the server may or may not have seen it
    ISSUED = "issued"  # the server answered with a ticket; not yet on paper
    PRINTED = "printed"
    REFUSED = "refused"  # a definitive no (closed, ticket stop, unknown queue, forbidden)
    EXPIRED = "expired"  # given up on: too old to be sent or printed


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    detail: str


@dataclass(frozen=True)
class Press:
    id: int
    key: str
    location: str
    queue: str
    pressed_at: float
    state: State
    attempts: int
    ticket: dict[str, Any] | None
    refusal: Refusal | None


class Spool:
    """One agent's presses in one SQLite file, held exclusively while the agent runs."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self.path = path

    @classmethod
    def open(cls, path: Path) -> Spool:
        """Open (or create) the spool; refuses a spool another agent holds, because two
        agents on one spool would print every resent ticket twice."""
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: every statement is its own transaction, committed (and
        # fsync'd) when execute() returns - no forgotten commit can leave a press in memory.
        db = sqlite3.connect(path, isolation_level=None, timeout=1.0)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise SpoolError(f"{path}: the file system does not support SQLite's WAL mode")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            # In exclusive locking mode the lock, once taken, is held until close: take it
            # now, not at the first press, so a second agent is turned away at its start.
            db.execute("BEGIN EXCLUSIVE")
            db.execute("COMMIT")
        except sqlite3.OperationalError as e:
            db.close()
            if "locked" in str(e):
                raise SpoolError(f"{path} is in use by another terminal agent") from e
            raise SpoolError(f"{path}: {e}") from e
        except SpoolError:
            db.close()
            raise
        # A new file's directory entry must survive a power cut too, not only its content.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return cls(db, path)

    def close(self) -> None:
        self._db.close()

    # --- presses ------------------------------------------------------------------------

    def add(self, location: str, queue: str) -> Press:
        """A new pending press with a fresh Idempotency-Key; on disk when this returns."""
        now = time.time()
        cur = self._db.execute(
            "INSERT INTO presses (key, location, queue, pressed_at, state, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (str(uuid.uuid4()), location, queue, now, State.PENDING.value, now),
        )
        assert cur.lastrowid is not None
        return self.get(cur.lastrowid)

    def get(self, press_id: int) -> Press:
        row = self._db.execute("SELECT * FROM presses WHERE id = ?", (press_id,)).fetchone()
        if row is None:
            raise SpoolError(f"there is no press {press_id} in {self.path}")
        return _press(row)

    def in_state(self, state: State) -> list[Press]:
        """Presses in ``state``, oldest first (the order they are sent and printed in)."""
        rows = self._db.execute(
            "SELECT * FROM presses WHERE state = ? ORDER BY id", (state.value,)
        ).fetchall()
        return [_press(r) for r in rows]

    def presses(self) -> list[Press]:
        """Every press still in the spool, oldest first."""
        return [_press(r) for r in self._db.execute("SELECT * FROM presses ORDER BY id")]

    def attempted(self, press_id: int) -> None:
        """Count a send attempt (before it is made: an attempt that crashed counts too)."""
        self._db.execute(
            "UPDATE presses SET attempts = attempts + 1, updated_at = ? WHERE id = ?",
            (time.time(), press_id),
        )

    def issued(self, press_id: int, ticket: dict[str, Any]) -> Press:
        """Record the server's ticket for a pending press."""
        return self._move(press_id, (State.PENDING,), State.ISSUED, ticket=json.dumps(ticket))

    def printed(self, press_id: int) -> Press:
        return self._move(press_id, (State.ISSUED,), State.PRINTED)

    def refused(self, press_id: int, refusal: Refusal) -> Press:
        """Record a definitive refusal; a refused press is never sent again."""
        return self._move(
            press_id, (State.PENDING,), State.REFUSED, refusal=json.dumps(refusal.__dict__)
        )

    def expired(self, press_id: int) -> Press:
        return self._move(press_id, (State.PENDING, State.ISSUED), State.EXPIRED)

    def prune(self, before: float) -> int:
        """Forget finished presses last touched before ``before`` (unix time); pending and
        issued ones are never forgotten."""
        cur = self._db.execute(
            "DELETE FROM presses WHERE state IN (?, ?, ?) AND updated_at < ?",
            (State.PRINTED.value, State.REFUSED.value, State.EXPIRED.value, before),
        )
        return cur.rowcount

    def _move(
        self,
        press_id: int,
        sources: tuple[State, ...],
        target: State,
        ticket: str | None = None,
        refusal: str | None = None,
    ) -> Press:
        first, second = sources[0], sources[-1]
        cur = self._db.execute(
            "UPDATE presses SET state = ?, updated_at = ?, ticket = COALESCE(?, ticket), "
            "refusal = COALESCE(?, refusal) WHERE id = ? AND state IN (?, ?)",
            (target.value, time.time(), ticket, refusal, press_id, first.value, second.value),
        )
        if cur.rowcount != 1:
            current = self.get(press_id).state
            allowed = " or ".join(s.value for s in sources)
            raise SpoolError(
                f"press {press_id} is {current.value}; it can become "
                f"{target.value} only when it is {allowed}"
            )
        return self.get(press_id)

    # --- cached server answers ----------------------------------------------------------

    def remember(self, name: str, value: dict[str, Any]) -> None:
        """Keep ``value`` across restarts (e.g. the location's queues, for a server outage)."""
        self._db.execute(
            "INSERT OR REPLACE INTO cache (name, value, stored_at) VALUES (?, ?, ?)",
            (name, json.dumps(value), time.time()),
        )

    def recall(self, name: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT value FROM cache WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        value: dict[str, Any] = json.loads(row["value"])
        return value


def _press(row: sqlite3.Row) -> Press:
    return Press(
        id=row["id"],
        key=row["key"],
        location=row["location"],
        queue=row["queue"],
        pressed_at=row["pressed_at"],
        state=State(row["state"]),
        attempts=row["attempts"],
        ticket=json.loads(row["ticket"]) if row["ticket"] else None,
        refusal=Refusal(**json.loads(row["refusal"])) if row["refusal"] else None,
    )
