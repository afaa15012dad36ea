"""The citizen's PIN without I/O: as printed and typed, its scrypt record, and the keyed
hashes that name the lookup's counters."""

from __future__ import annotations

import re

import pytest

from waitboard.core.application_pins import (
    InvalidPin,
    group_pin,
    hash_pin,
    keyed_digest,
    new_pin,
    normalise_pin,
    verify_pin,
)


def test_pins_are_eight_digits_read_as_printed() -> None:
    """PINs have 8 digits, print as "1234 5678" and are read with or without the blank."""
    pins = {new_pin() for _ in range(50)}
    assert all(re.fullmatch(r"\d{8}", p) for p in pins) and len(pins) > 45
    assert group_pin("12345678") == "1234 5678"
    for typed in ("1234 5678", "12345678", "1234-5678", " 1234 5678 "):
        assert normalise_pin(typed) == "12345678"
    for bad in ("1234567", "123456789", "1234  5678", "abcd efgh", ""):
        with pytest.raises(InvalidPin):
            normalise_pin(bad)


def test_pin_records_are_salted_scrypt_hashes() -> None:
    """Salted scrypt records hold no PIN; only the right PIN fits, a foreign record none."""
    first, second = hash_pin("12345678"), hash_pin("12345678")
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert "12345678" not in first and "1234 5678" not in first
    assert verify_pin("12345678", first) and verify_pin("12345678", second)
    assert not verify_pin("12345679", first)
    assert not verify_pin("12345678", None)
    assert not verify_pin("12345678", "plain$12345678")
    assert not verify_pin("12345678", first.replace("$16384$", "$1073741824$"))


def test_limit_counters_name_addresses_by_a_keyed_hash() -> None:
    """Counters are named by an HMAC of the address: stable per secret, never the address."""
    digest = keyed_digest("secret", "address", "127.0.0.1")
    assert digest == keyed_digest("secret", "address", "127.0.0.1")
    assert digest != keyed_digest("other", "address", "127.0.0.1")
    assert digest != keyed_digest("secret", "number", "127.0.0.1")
    assert "127" not in digest and re.fullmatch(r"[0-9a-f]{64}", digest)
