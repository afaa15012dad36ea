"""The rate limits' one Lua script (``gcra.lua``): it stands alone, without a prelude, and
touches only the buckets of one subject (see its header for what it guarantees)."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def source() -> str:
    """The text of ``gcra.lua``, read once per process."""
    return (resources.files(__name__) / "gcra.lua").read_text(encoding="utf-8")
