"""The citizen's lookup, guarded: the PIN on the letter, the record kept instead of it, the
limits on wrong tries, and the one answer a failed lookup gets. Pure: no I/O.

Why the PIN is handled the way it is:

* only a salted scrypt record is kept: a copy of Redis does not give away the PINs without
  ~50 ms of work per guess and per application;
* :func:`verify_pin` does the same hashing work whether or not the application exists (a
  dummy record stands in), and compares in constant time, so neither the answer nor its
  timing tells a guesser whether a number exists;
* the server's secret is not mixed into the hash: rotating ``WAITBOARD_SECRET_KEY`` (which
  logs staff out) must not make every printed letter useless.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from waitboard.core.errors import ErrorKind, NotFound, Unprocessable, WaitboardError

# --- PINs -----------------------------------------------------------------------------------

PIN_DIGITS = 8
#: As printed ("1234 5678") or typed without the blank or with a hyphen.
PIN_INPUT_PATTERN = r"^[0-9]{4}[ -]?[0-9]{4}$"
_PIN_INPUT = re.compile(PIN_INPUT_PATTERN)


class InvalidPin(Unprocessable):
    code = "application_pin_invalid"
    title = "Not a PIN"


@dataclass(frozen=True, slots=True)
class ScryptCost:
    """scrypt's parameters: n=2^14, r=8 takes 16 MiB and ~50 ms a hash - slow for a
    guesser with a copy of Redis, quick enough for one lookup."""

    n: int = 2**14
    r: int = 8
    p: int = 1


COST = ScryptCost()
_SALT_BYTES = 16
_HASH_BYTES = 32


def new_pin() -> str:
    """Eight random digits (10^8 possibilities; with the lookup limits a guesser gets a
    few hundred tries a day per number at most)."""
    return f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"


def group_pin(pin: str) -> str:
    """``12345678`` -> ``1234 5678``: as printed on the letter, easy to read out."""
    return f"{pin[:4]} {pin[4:]}"


def normalise_pin(raw: str) -> str:
    """The PIN's digits, or :class:`InvalidPin` (blanks around it are forgiven)."""
    pin = raw.strip()
    if not _PIN_INPUT.fullmatch(pin):
        raise InvalidPin(
            f"The PIN has {PIN_DIGITS} digits, as printed on the letter (e.g. '1234 5678').",
            field="pin",
        )
    return pin.replace(" ", "").replace("-", "")


#: A record asking for more than this is not one of ours (and would tie up the memory).
_MAX_COST = ScryptCost(n=2**16, r=16, p=4)
_MAXMEM = 128 * _MAX_COST.r * (_MAX_COST.n + _MAX_COST.p + 2) + 1024 * 1024


def _scrypt(pin: str, salt: bytes, cost: ScryptCost) -> bytes:
    return hashlib.scrypt(
        pin.encode("ascii"),
        salt=salt,
        n=cost.n,
        r=cost.r,
        p=cost.p,
        dklen=_HASH_BYTES,
        maxmem=_MAXMEM,
    )


def hash_pin(pin: str, salt: bytes | None = None, cost: ScryptCost = COST) -> str:
    """The record kept instead of the PIN: ``scrypt$n$r$p$<salt hex>$<hash hex>``, with a
    fresh salt per application (so equal PINs give different records)."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(pin, salt, cost)
    return f"scrypt${cost.n}${cost.r}${cost.p}${salt.hex()}${digest.hex()}"


def _parse_record(record: str) -> tuple[ScryptCost, bytes, bytes] | None:
    parts = record.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        cost = ScryptCost(int(parts[1]), int(parts[2]), int(parts[3]))
        salt, digest = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return None
    if (
        not (1 < cost.n <= _MAX_COST.n and 0 < cost.r <= _MAX_COST.r and 0 < cost.p <= _MAX_COST.p)
        or len(digest) != _HASH_BYTES
    ):
        return None
    return cost, salt, digest


def verify_pin(pin: str, record: str | bytes | None) -> bool:
    """Whether ``pin`` fits ``record``. Without a record (an unknown number) the same scrypt
    work is done against a random stand-in, and the answer is False."""
    if isinstance(record, bytes):
        record = record.decode("ascii", errors="replace")
    parsed = _parse_record(record) if record else None
    cost, salt, expected = parsed or (
        COST,
        secrets.token_bytes(_SALT_BYTES),
        secrets.token_bytes(_HASH_BYTES),
    )
    matches = hmac.compare_digest(_scrypt(pin, salt, cost), expected)
    return matches and parsed is not None


# --- the lookup's limits --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LookupLimits:
    """Wrong lookups allowed before more are refused (429): ``per_address`` at once, then
    one more per ``address_window_s`` (never more than ``per_address`` a window); the same
    per number. Per client address: a guesser at one address; per application number,
    counted whether or not it exists (so a lock tells nothing): a guesser spread over many
    addresses."""

    per_address: int = 10
    address_window_s: int = 60
    per_number: int = 20
    number_window_s: int = 3600


def keyed_digest(secret: str, kind: str, value: str) -> str:
    """How Redis names a client address or a looked-up number (the lookup's counters), or
    holds what must not be guessable (a deletion's request fingerprint): a keyed hash, so it
    holds neither addresses nor numbers nor any string a guesser typed."""
    return hmac.new(secret.encode(), f"{kind}\n{value}".encode(), hashlib.sha256).hexdigest()


class LookupFailed(NotFound):
    """A wrong PIN and an unknown number: one error, one text, one status."""

    code = "application_lookup_failed"
    title = "Number or PIN not right"

    def __init__(self) -> None:
        super().__init__(
            "The application number or the PIN is not right. Please check both "
            "on your letter and try again."
        )


class TooManyAttempts(WaitboardError):
    kind = ErrorKind.LIMITED
    code = "too_many_attempts"
    title = "Too many wrong attempts"

    def __init__(self, retry_after_s: int) -> None:
        minutes = -(-retry_after_s // 60)
        super().__init__(
            f"Too many wrong attempts for this number or from your address. "
            f"Please try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            minutes=minutes,
        )
        self.retry_after_s = retry_after_s
