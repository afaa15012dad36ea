"""The staff directory keeps names apart from records, and forgets a person who left."""

from __future__ import annotations

from redis.asyncio import Redis

from waitboard.core.office import Office
from waitboard.store.office_store import Store


async def test_names_are_found_by_pseudonymous_id_and_forgotten_on_request(
    redis: Redis, office: Office
) -> None:
    """A remembered name is found by its id; after forgetting, the id names nobody."""
    store = Store(redis, office)
    await store.remember_person("p-1", "Alice Advisor", 1_000)
    await store.remember_person("p-2", "bob", 2_000)
    assert await store.person_names(["p-1", "p-2", "p-unknown"]) == {
        "p-1": "Alice Advisor",
        "p-2": "bob",
    }
    assert [m.name for m in await store.staff_members()] == ["Alice Advisor", "bob"]
    assert await store.forget_person("p-1") is True
    assert await store.forget_person("p-1") is False
    assert await store.person_names(["p-1"]) == {}


async def test_a_new_sign_in_renews_the_name(redis: Redis, office: Office) -> None:
    """A person whose name changed in the directory is shown with the new one."""
    store = Store(redis, office)
    await store.remember_person("p-1", "Alice Old", 1_000)
    await store.remember_person("p-1", "Alice New", 5_000)
    [member] = await store.staff_members()
    assert (member.name, member.last_seen_ms) == ("Alice New", 5_000)
