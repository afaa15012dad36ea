"""Staff sign-in with the office's OpenID Connect provider (a real one, tests/oidc_provider.py)
without a browser: the code flow with PKCE, workplaces from groups, refusals with clear
pages, ID tokens that are not to be believed, the re-check, sign-out, and what Redis holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.oidc_provider import OidcProvider
from tests.staff_sign_in import client, sign_in, signing_in_server
from waitboard.store.embedded import EmbeddedRedis


@pytest.fixture
async def srv(
    oidc_provider: OidcProvider, redis_server: EmbeddedRedis, redis: Redis, tmp_path: Path
):
    async with signing_in_server(oidc_provider, redis_server.url, tmp_path) as s:
        yield s


async def test_reception_signs_in_and_works(oidc_provider: OidcProvider, srv) -> None:
    """bob, whose only group maps to Süd's reception, signs in and lands at the reception page,
    which names him."""
    async with client(srv) as http:
        callback, done = await sign_in(oidc_provider, http, "bob")
        assert callback.status_code == 200, callback.text
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/staff/sued/reception"
        page = await http.get("/staff/sued/reception")
        assert page.status_code == 200
        assert "Bob Reception" in page.text
