"""ID tokens checked as OpenID Connect Core 3.1.3.7 asks: the signature against the
provider's published keys (its JWK Set, kept for an hour at most and fetched again when a
token names a key not seen before), the algorithm among those the provider says it signs
with (never "none", never a shared-secret HMAC), the issuer, the audience, the expiry and
issue time (with a small leeway for clocks) and, on the way back from a sign-in, the nonce
of that sign-in.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

#: The algorithms an ID token may be signed with: public-key signatures only.
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
#: How far the provider's clock and ours may differ.
LEEWAY_S = 60
#: The least time between two fetches of the JWK Set for tokens naming unknown keys (a
#: stream of forged tokens must not become a stream of requests to the provider).
REFETCH_AFTER_S = 30.0
#: The longest a fetched JWK Set is believed before it is fetched again.
MAX_AGE_S = 3600.0


class BadIdToken(Exception):
    """An ID token that is not to be believed; the message says why (never the token)."""


def signing_algorithms(supported: Collection[str] | None) -> list[str]:
    """The provider's ``id_token_signing_alg_values_supported`` that we accept (RS256 when
    it says nothing, as OpenID Connect Discovery defines)."""
    offered = list(supported) if supported else ["RS256"]
    return [alg for alg in offered if alg in ASYMMETRIC]


class JwksCache:
    """The provider's JWK Set, fetched when first needed, again once it is older than
    ``max_age_s`` (keys the provider withdrew are not believed for ever), and again when a
    token names a key id it does not hold (the provider rolled its keys) - the latter at
    most every ``refetch_after_s``."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Mapping[str, Any]]],
        refetch_after_s: float = REFETCH_AFTER_S,
        max_age_s: float = MAX_AGE_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._refetch_after_s = refetch_after_s
        self._max_age_s = max_age_s
        self._monotonic = monotonic
        self._keys: KeySet | None = None
        self._fetched_at = 0.0

    async def keys_for(self, kid: str | None) -> KeySet:
        age = self._monotonic() - self._fetched_at
        if (
            self._keys is None
            or age > self._max_age_s
            or (kid is not None and not _has_kid(self._keys, kid) and age > self._refetch_after_s)
        ):
            return await self._fetch_now()
        return self._keys

    async def fresher(self) -> KeySet | None:
        """The set fetched again, if the last fetch is long enough ago (else None): for a
        token without a key id that no key held verifies."""
        if self._monotonic() - self._fetched_at > self._refetch_after_s:
            return await self._fetch_now()
        return None

    async def _fetch_now(self) -> KeySet:
        raw = await self._fetch()
        try:
            self._keys = KeySet.import_key_set(dict(raw))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as e:
            raise BadIdToken(f"the provider's JWK Set cannot be read ({e})") from e
        self._fetched_at = self._monotonic()
        return self._keys


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(k.kid == kid for k in keys.keys)


def _decode(token: str, key_set: KeySet, kid: str | None, algorithms: list[str]) -> dict[str, Any]:
    """The claims of a token whose signature holds under the set's key of its ``kid``, or -
    a token without one - under any of the set's keys."""
    if kid is not None or len(key_set.keys) == 1:
        claims: dict[str, Any] = jwt.decode(token, key_set, algorithms=algorithms).claims
        return claims
    for key in key_set.keys:
        try:
            found: dict[str, Any] = jwt.decode(token, key, algorithms=algorithms).claims
        except (JoseError, ValueError, TypeError):
            continue
        return found
    raise BadIdToken("the signature does not hold (no key of the provider's fits)")


async def verify_id_token(
    token: str,
    *,
    keys: JwksCache,
    issuer: str,
    client_id: str,
    algorithms: list[str],
    now_s: float,
    nonce: str | None,
) -> dict[str, Any]:
    """The token's claims, or BadIdToken. ``nonce``: the sign-in's; None for a token from a
    refresh (which carries none, or the first one's)."""
    if not algorithms:
        raise BadIdToken("the provider signs ID tokens with no algorithm we accept")
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError) as e:
        raise BadIdToken("not a signed JWT") from e
    alg = header.get("alg")
    if alg not in algorithms:
        raise BadIdToken(f"signed with {str(alg)[:10]!r}, not {' or '.join(algorithms)}")
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    key_set = await keys.keys_for(kid)
    if kid is not None and not _has_kid(key_set, kid):
        raise BadIdToken("signed with a key the provider does not publish")
    try:
        try:
            claims = _decode(token, key_set, kid, algorithms)
        except BadIdToken:
            fresher = await keys.fresher() if kid is None else None
            if fresher is None:
                raise
            claims = _decode(token, fresher, kid, algorithms)
    except (JoseError, ValueError) as e:
        raise BadIdToken(f"the signature does not hold ({type(e).__name__})") from e
    _check_claims(claims, issuer=issuer, client_id=client_id, now_s=now_s, nonce=nonce)
    return claims


def _check_claims(
    claims: Mapping[str, Any], *, issuer: str, client_id: str, now_s: float, nonce: str | None
) -> None:
    if claims.get("iss") != issuer:
        raise BadIdToken("issued by another issuer")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if client_id not in audiences:
        raise BadIdToken("issued for another client (aud)")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise BadIdToken("issued for several clients, and not to us (azp)")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise BadIdToken("without an expiry (exp)")
    if exp <= now_s - LEEWAY_S:
        raise BadIdToken("expired")
    if not isinstance(iat, int | float) or isinstance(iat, bool) or iat > now_s + LEEWAY_S:
        raise BadIdToken("without a valid issue time (iat)")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise BadIdToken("without a subject (sub)")
    if nonce is not None:
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
            raise BadIdToken("for another sign-in (nonce)")
