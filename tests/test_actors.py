"""A signed-in person is held to the same permission rules as a device (core/staff.py)."""

from __future__ import annotations

import pytest

from waitboard.core.errors import Forbidden
from waitboard.core.staff import SignedInPerson, Workplace
from waitboard.services.auth import operated_counters, require


def _advisor() -> SignedInPerson:
    return SignedInPerson("p-1", Workplace("counter", "sued", ("2",)), device_id="pc-2")


def test_person_at_a_counter_may_operate_only_the_chosen_counter() -> None:
    """A person who chose counter 2 at Süd may call there, not at counter 3 or at Nord."""
    person = _advisor()
    require(person, ("counter",), location="sued", counter="2")
    with pytest.raises(Forbidden, match="counter"):
        require(person, ("counter",), location="sued", counter="3")
    with pytest.raises(Forbidden, match="nord"):
        require(person, ("counter",), location="nord", counter="2")
    assert operated_counters(person) == ["2"]


def test_records_name_the_person_pseudonymously_and_the_device() -> None:
    """What an action's record names: the person's pseudonymous id and the device."""
    person = _advisor()
    assert person.id == "person:p-1"
    assert person.device_id == "pc-2"


def test_refusal_of_a_person_does_not_call_them_a_device() -> None:
    """A refused person is told about their sign-in's role, not about a device."""
    with pytest.raises(Forbidden, match="This sign-in has the role counter"):
        require(_advisor(), ("reception",))
