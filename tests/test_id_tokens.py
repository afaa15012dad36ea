"""ID tokens are believed only as OpenID Connect Core asks (services/id_tokens.py): signed
with a key the provider publishes, by an algorithm it names and we accept, for us, by it,
current, and for this sign-in; its keys are fetched again when it rolls them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.jws import new_signing_key, public_jwk, sign_jwt
from waitboard.services.id_tokens import (
    BadIdToken,
    JwksCache,
    signing_algorithms,
    verify_id_token,
)

ISSUER = "https://login.example.de/realms/jobcenter"


class Provider:
    """A provider's JWK Set as its jwks_uri serves it, counting the fetches."""

    def __init__(self, *keys: dict[str, Any]) -> None:
        self.keys = list(keys)
        self.fetches = 0

    async def jwks(self) -> dict[str, Any]:
        self.fetches += 1
        return {"keys": [public_jwk(k) for k in self.keys]}


@dataclass(frozen=True)
class FromNow:
    """A time claim this many seconds from when the token is made (not from when the tests
    were collected: a slow run must not turn a future time into a past one)."""

    seconds: int


def token(key: dict[str, Any], **claims: Any) -> str:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": "waitboard", "sub": "s-1", "iat": now, "exp": now + 300}
    base.update({k: now + v.seconds if isinstance(v, FromNow) else v for k, v in claims.items()})
    return sign_jwt({k: v for k, v in base.items() if v is not None}, key)


async def verify(t: str, cache: JwksCache, nonce: str | None = "n-1", **kw: Any) -> dict[str, Any]:
    return await verify_id_token(
        t,
        keys=cache,
        issuer=ISSUER,
        client_id="waitboard",
        algorithms=kw.pop("algorithms", ["RS256", "ES256"]),
        now_s=time.time(),
        nonce=nonce,
    )


async def test_a_good_token_and_a_rolled_key() -> None:
    """A token signed with a published key verifies (RSA and EC); after the provider rolls
    to a new key (the last fetch long enough ago) the JWK Set is fetched again once and the
    new token verifies."""
    rsa, ec = new_signing_key("RSA"), new_signing_key("EC")
    provider = Provider(rsa)
    cache = JwksCache(provider.jwks, refetch_after_s=0)
    assert (await verify(token(rsa, nonce="n-1"), cache))["sub"] == "s-1"
    provider.keys = [ec]
    assert (await verify(token(ec, nonce="n-1"), cache))["sub"] == "s-1"
    assert provider.fetches == 2


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"iss": "https://evil.example"}, "another issuer"),
        ({"aud": "other"}, "another client"),
        ({"aud": ["waitboard", "other"]}, "azp"),
        ({"exp": FromNow(-120)}, "expired"),
        ({"exp": None}, "expiry"),
        ({"iat": FromNow(600)}, "issue time"),
        ({"sub": None}, "subject"),
        ({"nonce": "n-2"}, "nonce"),
        ({"nonce": None}, "nonce"),
    ],
)
async def test_claims_that_do_not_hold_are_refused(claims: dict[str, Any], why: str) -> None:
    """Another issuer or audience, several audiences without us as azp, expired (past the
    leeway), no expiry, issued in the future, no subject, another or no nonce: refused,
    saying why."""
    key = new_signing_key()
    with pytest.raises(BadIdToken, match=why):
        await verify(token(key, **{"nonce": "n-1", **claims}), JwksCache(Provider(key).jwks))


async def test_signatures_and_algorithms_that_do_not_hold_are_refused() -> None:
    """Another key under the published kid, an unknown kid (fetched again at most every
    30 s), alg none, HS256 with anything, an algorithm the provider does not name: refused."""
    key = new_signing_key(kid="k1")
    provider = Provider(key)
    cache = JwksCache(provider.jwks)
    with pytest.raises(BadIdToken, match="signature"):
        await verify(token(new_signing_key(kid="k1"), nonce="n-1"), cache)
    for _ in range(3):
        with pytest.raises(BadIdToken, match="does not publish"):
            await verify(token(new_signing_key(kid="k9"), nonce="n-1"), cache)
    assert provider.fetches == 1
    _header, payload, _sig = token(key, nonce="n-1").split(".")
    none = sign_jwt({"iss": ISSUER}, key, {"alg": "none"}).split(".")[0]
    with pytest.raises(BadIdToken, match="signed with 'none'"):
        await verify(f"{none}.{payload}.", cache)
    with pytest.raises(BadIdToken, match="signed with 'RS256'"):
        await verify(token(key, nonce="n-1"), cache, algorithms=["ES256"])
    with pytest.raises(BadIdToken, match="not a signed JWT"):
        await verify("not.a-token", cache)
    assert signing_algorithms(["none", "HS256", "RS256", "ES256"]) == ["RS256", "ES256"]
    assert signing_algorithms(None) == ["RS256"]
    with pytest.raises(BadIdToken, match="no algorithm"):
        await verify(token(key, nonce="n-1"), cache, algorithms=signing_algorithms(["HS256"]))


class Monotonic:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_key_set_is_fetched_again_after_an_hour() -> None:
    """A fetched JWK Set serves tokens of its keys for an hour; after that it is fetched
    again (a key the provider withdrew is not believed for ever), and a token of the
    withdrawn key is refused."""
    old, new = new_signing_key(kid="k1"), new_signing_key(kid="k2")
    provider = Provider(old, new)
    clock = Monotonic()
    cache = JwksCache(provider.jwks, monotonic=clock)
    assert (await verify(token(old, nonce="n-1"), cache))["sub"] == "s-1"
    clock.now += 3599
    assert (await verify(token(old, nonce="n-1"), cache))["sub"] == "s-1"
    assert provider.fetches == 1
    provider.keys = [new]
    clock.now += 2
    with pytest.raises(BadIdToken, match="does not publish"):
        await verify(token(old, nonce="n-1"), cache)
    assert provider.fetches == 2


async def test_a_token_without_a_key_id_verifies_against_a_set_of_several_keys() -> None:
    """A token whose header names no key (kid) from a provider publishing several keys
    verifies with the key that signed it; one signed by none of them is refused."""
    one, other = new_signing_key(kid="k1"), new_signing_key("EC", kid="k2")
    provider = Provider(one, other)
    cache = JwksCache(provider.jwks)
    for key in (one, other):
        unnamed = {k: v for k, v in key.items() if k != "kid"}
        assert (await verify(token(unnamed, nonce="n-1"), cache))["sub"] == "s-1"
    stranger = {k: v for k, v in new_signing_key().items() if k != "kid"}
    with pytest.raises(BadIdToken, match="signature"):
        await verify(token(stranger, nonce="n-1"), cache)
