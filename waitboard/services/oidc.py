"""The office's OpenID Connect provider, as waitboard's staff sign-in speaks to it.

authlib is the OAuth 2 client (the authorization request with PKCE S256, the code
exchange and the refresh grant, client authentication with the client secret); the
provider's metadata comes from its discovery document (its issuer must be the configured
one), and ID tokens are checked by :mod:`waitboard.services.id_tokens`. Nothing here logs
a token, a code or the client secret.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from waitboard.core.sign_in import SignIn
from waitboard.services.id_tokens import BadIdToken, JwksCache, signing_algorithms, verify_id_token

#: How long the provider's discovery document is kept before it is read again.
METADATA_TTL_S = 3600.0
TIMEOUT_S = 10.0


class ProviderError(Exception):
    """The provider could not be reached or answered what a provider must not (the message
    is for the log: no token, no code, no secret)."""


class ProviderRefused(Exception):
    """The provider refused a grant: the code or refresh token is not (or no longer) good."""


@dataclass(frozen=True)
class Tokens:
    """What a token request brought: the ID token (checked) and its claims, and the tokens
    for asking again later."""

    id_token: str | None
    claims: dict[str, Any]
    access_token: str | None
    refresh_token: str | None


class OidcClient:
    """One per process; holds the provider's metadata and keys, no per-person state."""

    def __init__(self, config: SignIn, client_secret: str) -> None:
        self.config = config
        self._secret = client_secret
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self.keys = JwksCache(self._fetch_jwks)

    # -- the provider's metadata and keys

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL_S:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            doc = await self._get_json(url)
            if doc.get("issuer") != self.config.issuer:
                raise ProviderError(
                    f"the discovery document names the issuer {str(doc.get('issuer'))[:200]!r}, "
                    f"not the configured {self.config.issuer!r}"
                )
            for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(doc.get(needed), str):
                    raise ProviderError(f"the discovery document has no {needed}")
            self._metadata, self._metadata_at = doc, time.monotonic()
        return self._metadata

    async def _fetch_jwks(self) -> dict[str, Any]:
        return await self._get_json(str((await self.metadata())["jwks_uri"]))

    async def _get_json(self, url: str, bearer: str | None = None) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_S) as http:
                answer = await http.get(url, headers=headers)
        except httpx.HTTPError as e:
            raise ProviderError(f"{url}: {type(e).__name__}") from e
        if answer.status_code == 401 and bearer:
            raise ProviderRefused("userinfo refused the access token")
        if answer.status_code != 200:
            raise ProviderError(f"{url}: HTTP {answer.status_code}")
        try:
            found = answer.json()
        except ValueError as e:
            raise ProviderError(f"{url}: not JSON") from e
        if not isinstance(found, dict):
            raise ProviderError(f"{url}: not a JSON object")
        return found

    def _oauth(self, redirect_uri: str | None = None) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.config.client_id,
            client_secret=self._secret,
            scope=" ".join(self.config.scopes),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=TIMEOUT_S,
        )

    # -- signing in

    async def authorization_url(
        self, redirect_uri: str, state: str, nonce: str, verifier: str
    ) -> str:
        """Where to send the browser: the authorization request of the code flow with PKCE."""
        endpoint = str((await self.metadata())["authorization_endpoint"])
        extra = {"prompt": self.config.prompt} if self.config.prompt else {}
        async with self._oauth(redirect_uri) as oauth:
            url, _ = oauth.create_authorization_url(
                endpoint, state=state, code_verifier=verifier, nonce=nonce, **extra
            )
        return str(url)

    async def exchange(
        self, code: str, redirect_uri: str, verifier: str, nonce: str, now_s: float
    ) -> Tokens:
        """The code for tokens; the ID token checked, with the sign-in's nonce."""
        endpoint = str((await self.metadata())["token_endpoint"])
        async with self._oauth(redirect_uri) as oauth:
            try:
                token = await oauth.fetch_token(
                    endpoint, code=code, code_verifier=verifier, grant_type="authorization_code"
                )
            except OAuthError as e:
                raise ProviderRefused(f"the code was refused ({e.error})") from e
            except Exception as e:  # httpx2's errors, an answer that is no token: never a trace
                raise ProviderError(f"token endpoint: {type(e).__name__}") from e
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise BadIdToken("the token response has no ID token")
        claims = await self.verify(id_token, now_s, nonce)
        return Tokens(id_token, claims, token.get("access_token"), token.get("refresh_token"))

    async def verify(self, id_token: str, now_s: float, nonce: str | None) -> dict[str, Any]:
        meta = await self.metadata()
        return await verify_id_token(
            id_token,
            keys=self.keys,
            issuer=self.config.issuer,
            client_id=self.config.client_id,
            algorithms=signing_algorithms(meta.get("id_token_signing_alg_values_supported")),
            now_s=now_s,
            nonce=nonce,
        )

    # -- asking again

    async def refresh(self, refresh_token: str, now_s: float) -> Tokens:
        """A refresh grant; its ID token (where the provider sends one) checked."""
        endpoint = str((await self.metadata())["token_endpoint"])
        async with self._oauth() as oauth:
            try:
                token = await oauth.refresh_token(endpoint, refresh_token=refresh_token)
            except OAuthError as e:
                raise ProviderRefused(f"the refresh token was refused ({e.error})") from e
            except Exception as e:  # (as above)
                raise ProviderError(f"token endpoint: {type(e).__name__}") from e
        id_token = token.get("id_token")
        claims = await self.verify(id_token, now_s, None) if isinstance(id_token, str) else {}
        return Tokens(
            id_token if isinstance(id_token, str) else None,
            claims,
            token.get("access_token"),
            token.get("refresh_token") or refresh_token,
        )

    async def userinfo(self, access_token: str) -> dict[str, Any]:
        endpoint = (await self.metadata()).get("userinfo_endpoint")
        if not isinstance(endpoint, str):
            raise ProviderError("the provider has no userinfo_endpoint")
        return await self._get_json(endpoint, bearer=access_token)

    # -- signing out

    async def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """RP-initiated logout at the provider, where it offers it (and the office wants it):
        with ``client_id``, never the ID token as ``id_token_hint`` (the address stays in the
        browser's history of a shared PC and in the provider's access logs). The provider
        may then ask the person to confirm."""
        if not self.config.end_provider_session:
            return None
        try:
            endpoint = (await self.metadata()).get("end_session_endpoint")
        except ProviderError:
            return None
        if not isinstance(endpoint, str):
            return None
        params = {
            "client_id": self.config.client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
        }
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)
