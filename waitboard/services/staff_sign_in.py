"""Staff sign-in: a sign-in's way through the provider, the person's session, the re-check.

A sign-in starts with a flow: a random value in a short-lived cookie of its own (SameSite
Lax, path /auth, so it comes back with the provider's cross-site redirect), and in Redis,
under a digest of that value and sealed, the state, the nonce and the PKCE verifier. The
callback takes the flow once, checks the state, trades the code for tokens, checks the ID
token, maps the person's groups to workplaces and - if any - opens a session in Redis.
The staff cookie (SameSite Strict, which a cross-site redirect does not carry) receives the
session's id one same-site step later (``/auth/done``).

A session holds the person's pseudonymous id, the workplaces their groups allow, the one
they chose, the device they signed in on, when to ask the provider again, and - sealed -
the refresh token (or, without one, the access token). The ID token is not kept: signing
out at the provider names the client, not the person's token.
After the re-check interval the next request asks the provider again (refresh grant, the
groups from the new ID token or from userinfo): a person whose groups no longer allow a
workplace has their session ended there.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Any

import orjson

from waitboard.core.application_pins import keyed_digest
from waitboard.core.clock import Clock
from waitboard.core.errors import Unavailable
from waitboard.core.sealed import seal, unseal
from waitboard.core.sign_in import claimed_groups, workplaces
from waitboard.core.staff import SignedInPerson, Workplace
from waitboard.services.id_tokens import BadIdToken
from waitboard.services.oidc import TIMEOUT_S, OidcClient, ProviderError, ProviderRefused, Tokens
from waitboard.services.person_sessions import (
    PersonSession,
    digest,
    raw,
    session_view,
    who,
    wp,
)
from waitboard.store.office_store import Store

log = logging.getLogger(__name__)

#: How long a sign-in may take at the provider.
FLOW_TTL_S = 600
#: How long the callback's result waits for its same-site step.
HANDOFF_TTL_S = 120
#: A person's session lasts a working day at most.
SESSION_TTL_MS = 12 * 3600 * 1000
#: The most a re-check may take at the provider (its metadata, the refresh grant, its keys,
#: userinfo: a request each) before it counts as a provider that does not answer ...
RECHECK_LIMIT_S = 4 * TIMEOUT_S
#: ... and how long one request holds the re-check (others meanwhile go on without asking):
#: longer than that, so that no second request ever asks with the same refresh token.
RECHECK_HOLD_MS = int(RECHECK_LIMIT_S * 1000) + 5_000
#: How often a change to a session is tried again when another request changed it meanwhile.
_ATTEMPTS = 5
_FLOW = b"waitboard sign-in flow"
_SESSION = b"waitboard staff session"


class SignInProblem(Exception):
    """A sign-in that cannot go on; ``reason`` names which page says why."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class SessionEnded(Exception):
    """A person's session that ended (``reason``: groups, expired)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StaffSignIn:
    """The sign-in service of one process (sessions live in Redis, shared by all)."""

    def __init__(self, client: OidcClient, store: Store, clock: Clock, secret_key: str) -> None:
        self.client = client
        self.config = client.config
        self.store = store
        self.clock = clock
        self._secret = secret_key

    def _now_ms(self) -> int:
        return int(self.clock().timestamp() * 1000)

    # -- the flow -------------------------------------------------------------------------

    async def start(self, redirect_uri: str, next_path: str | None) -> tuple[str, str]:
        """A new flow: the flow cookie's value and where to send the browser."""
        flow_id = secrets.token_urlsafe(32)
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        url = await self.client.authorization_url(redirect_uri, state, nonce, verifier)
        flow = {"state": state, "nonce": nonce, "verifier": verifier, "next": next_path}
        key = digest(flow_id)
        sealed = seal(self._secret, _FLOW, orjson.dumps(flow), key.encode())
        await self.store.save_sign_in_flow(key, sealed, FLOW_TTL_S)
        return flow_id, url

    async def _take_flow(self, flow_id: str | None) -> tuple[str, dict[str, Any]]:
        if not flow_id:
            raise SignInProblem("expired", "no flow cookie")
        key = digest(flow_id)
        sealed = await self.store.take_sign_in_flow(key)
        opened = unseal(self._secret, _FLOW, sealed, key.encode()) if sealed else None
        if opened is None:
            raise SignInProblem("expired", "no such flow")
        found: dict[str, Any] = orjson.loads(opened)
        return key, found

    async def finish(self, flow_id: str | None, params: dict[str, str], redirect_uri: str) -> str:
        """The callback: checks everything, opens the session; the handoff for /auth/done."""
        key, flow = await self._take_flow(flow_id)
        if "handoff" in flow:
            raise SignInProblem("expired", "callback replayed")
        if not hmac.compare_digest(params.get("state", "").encode(), str(flow["state"]).encode()):
            raise SignInProblem("state", "state mismatch")
        if params.get("error"):
            raise SignInProblem("denied", params["error"][:60])
        if "iss" in params and params["iss"] != self.config.issuer:
            raise SignInProblem("state", "the answer names another issuer")
        code = params.get("code")
        if not code:
            raise SignInProblem("state", "no code")
        now_s = self._now_ms() / 1000
        try:
            tokens = await self.client.exchange(
                code, redirect_uri, flow["verifier"], flow["nonce"], now_s
            )
            groups = await self._groups(tokens)
        except BadIdToken as e:
            log.warning("sign-in refused: ID token not accepted", extra={"reason": str(e)})
            raise SignInProblem("token", str(e)) from e
        except ProviderRefused as e:
            raise SignInProblem("expired", str(e)) from e
        except ProviderError as e:
            log.warning("sign-in failed at the provider", extra={"reason": str(e)})
            raise SignInProblem("provider", str(e)) from e
        options = self._options(groups)
        if not options:
            log.info("sign-in refused: no group of the person is mapped to a workplace")
            raise SignInProblem("no_group")
        person = await self.store.person_of_subject(self._subject(tokens.claims))
        name = str(tokens.claims.get("name") or tokens.claims.get("preferred_username") or "")
        if name:
            await self.store.remember_person(person, name[:200], self._now_ms())
        sid = secrets.token_urlsafe(32)
        session = self._record(sid, person, options, tokens)
        await self.store.save_staff_session(digest(sid), session, SESSION_TTL_MS)
        handoff = {"handoff": sid, "next": flow.get("next")}
        sealed = seal(self._secret, _FLOW, orjson.dumps(handoff), key.encode())
        await self.store.save_sign_in_flow(key, sealed, HANDOFF_TTL_S)
        return sid

    async def handoff(self, flow_id: str | None) -> tuple[str, str | None]:
        """The same-site step after the callback: the session id and where to go next."""
        _, flow = await self._take_flow(flow_id)
        if "handoff" not in flow:
            raise SignInProblem("expired", "no finished sign-in")
        return str(flow["handoff"]), flow.get("next")

    def _subject(self, claims: dict[str, Any]) -> str:
        """The subject at the provider as Redis names it: a digest keyed with the secret key
        (only the service can tell whose it is; a new key gives everyone a new pseudonym)."""
        return keyed_digest(self._secret, "staff-subject", f"{self.config.issuer}\n{claims['sub']}")

    def _counters_at(self) -> dict[str, list[str]]:
        return {loc.id: [c.id for c in loc.counters] for loc in self.store.office.locations}

    def _options(self, groups: list[str]) -> list[Workplace]:
        return workplaces(self.config, self._counters_at(), groups)

    async def _groups(self, tokens: Tokens) -> list[str]:
        """The groups from the ID token, or from userinfo where the token has no such claim
        (Entra ID, for one, leaves them out past a number of groups)."""
        found = claimed_groups(tokens.claims, self.config.groups_claim)
        if found is None and tokens.access_token:
            info = await self.client.userinfo(tokens.access_token)
            if info.get("sub") != tokens.claims.get("sub", info.get("sub")):
                raise ProviderError("userinfo names another subject")
            found = claimed_groups(info, self.config.groups_claim)
        return found or []

    def _seal(self, sid_digest: str, field: str, value: str | None) -> str | None:
        if not value:
            return None
        return seal(self._secret, _SESSION, value.encode(), f"{sid_digest}/{field}".encode())

    def _open(self, sid_digest: str, field: str, value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        opened = unseal(self._secret, _SESSION, value, f"{sid_digest}/{field}".encode())
        return opened.decode() if opened is not None else None

    def _record(
        self, sid: str, person: str, options: list[Workplace], tokens: Tokens
    ) -> dict[str, Any]:
        d = digest(sid)
        return {
            "person": person,
            "subject": self._subject(tokens.claims),
            "options": [raw(w) for w in options],
            "chosen": raw(options[0]) if len(options) == 1 else None,
            "device": None,
            "recheck_at": self._now_ms() + self.config.recheck_ms,
            "refresh": self._seal(d, "refresh", tokens.refresh_token),
            # (Only without a refresh token: userinfo is then how to ask again.)
            "access": None
            if tokens.refresh_token
            else self._seal(d, "access", tokens.access_token),
        }

    # -- the session ----------------------------------------------------------------------

    async def session(self, sid: str) -> PersonSession | None:
        """The person's session, asked again of the provider when it is time; None when
        there is none; SessionEnded when it ends here."""
        d = digest(sid)
        record = await self.store.staff_session(d)
        if record is None:
            return None
        if self._now_ms() >= int(record["recheck_at"]) and await self.store.claim_recheck(
            d, RECHECK_HOLD_MS
        ):
            try:
                # Read again, now that this request holds the re-check: another one may have
                # done it just before (with the refresh token read above, now used up).
                record = await self.store.staff_session(d)
                if record is None:
                    return None
                if self._now_ms() >= int(record["recheck_at"]):
                    record = await self._recheck(d, record)
            finally:
                await self.store.release_recheck(d)
        return session_view(d, record, self._counters_at())

    async def _recheck(self, d: str, record: dict[str, Any]) -> dict[str, Any]:
        now_ms = self._now_ms()
        changes: dict[str, Any] = {}
        try:
            async with asyncio.timeout(RECHECK_LIMIT_S):
                groups = await self._groups_again(d, record, changes, now_ms)
        except TimeoutError as e:
            raise ProviderError("the re-check took too long") from e
        except (ProviderRefused, BadIdToken) as e:
            log.info("staff session ended at its re-check", extra={"reason": str(e)})
            await self._end(d)
            raise SessionEnded("expired") from e
        options = self._options(groups)
        if not options:
            log.info("staff session ended at its re-check: no group mapped any more")
            await self._end(d)
            raise SessionEnded("groups")
        changes["options"] = [raw(w) for w in options]
        changes["recheck_at"] = now_ms + self.config.recheck_ms

        def recheck(latest: dict[str, Any]) -> bool:
            latest.update(changes)
            chosen = wp(latest["chosen"]) if latest.get("chosen") else None
            if chosen not in options:
                latest["chosen"] = raw(options[0]) if len(options) == 1 else None
            return True

        updated = await self._change(d, recheck)
        if updated is None:
            raise SessionEnded("expired")
        return updated

    async def _change(
        self, d: str, change: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """``change`` applied to the session as it is in Redis now, written back only if no
        other request changed it in between (else read and applied again): the session as
        written, or None when it is gone or ``change`` declines (returns False)."""
        for _ in range(_ATTEMPTS):
            latest = await self.store.staff_session(d)
            if latest is None or not change(latest):
                return None
            done = await self.store.update_staff_session(d, latest)
            if done is not None:
                return latest if done else None
        raise Unavailable("The sign-in is being changed by another request; try again.")

    async def _groups_again(
        self, d: str, record: dict[str, Any], changes: dict[str, Any], now_ms: int
    ) -> list[str]:
        """The person's groups, asked again of the provider; the new tokens into ``changes``."""
        refresh = self._open(d, "refresh", record.get("refresh"))
        if refresh:
            tokens = await self.client.refresh(refresh, now_ms / 1000)
            if tokens.claims and self._subject(tokens.claims) != record["subject"]:
                raise BadIdToken("the refreshed ID token names another subject")
            changes["refresh"] = self._seal(d, "refresh", tokens.refresh_token)
            found = claimed_groups(tokens.claims, self.config.groups_claim)
            if found is None and tokens.access_token:
                found = await self._userinfo_groups(tokens.access_token, record)
            return found or []
        access = self._open(d, "access", record.get("access"))
        if not access:
            raise ProviderRefused("nothing to ask the provider with (another secret key?)")
        return await self._userinfo_groups(access, record) or []

    async def _userinfo_groups(self, access_token: str, record: dict[str, Any]) -> list[str] | None:
        info = await self.client.userinfo(access_token)
        if not isinstance(info.get("sub"), str) or self._subject(info) != record["subject"]:
            raise BadIdToken("userinfo names another subject")
        return claimed_groups(info, self.config.groups_claim)

    async def choose(self, sid: str, workplace: Workplace, device: str | None) -> bool:
        """The person works at ``workplace`` now (one of theirs, as the session holds them
        now), on ``device``."""

        def pick(latest: dict[str, Any]) -> bool:
            if workplace not in [wp(o) for o in latest["options"]]:
                return False
            latest["chosen"], latest["device"] = raw(workplace), device
            return True

        return await self._change(digest(sid), pick) is not None

    async def arrived(self, sid: str, device: str | None) -> None:
        """The sign-in's same-site step: the device it happened on (if any) into the
        session, and the sign-in's record, which names it."""
        await self.set_device(sid, device)
        record = await self.store.staff_session(digest(sid))
        person = who(record) if record is not None else None
        if person is not None:
            await self.store.record_staff_action("sign_in", person)

    async def _end(self, d: str) -> None:
        """A session ended by its re-check, recorded as a sign-out of the person."""
        record = await self.store.end_staff_session(d)
        person = who(record) if record is not None else None
        if person is not None:
            await self.store.record_staff_action("sign_out", person)

    async def set_device(self, sid: str, device: str | None) -> None:
        def put(latest: dict[str, Any]) -> bool:
            if latest.get("device") == device:
                return False
            latest["device"] = device
            return True

        await self._change(digest(sid), put)

    async def sign_out(self, sid: str) -> SignedInPerson | None:
        """Ends the session, whatever its state (no re-check, no workplace needed): who it
        was, for the record (the person, their workplace, the device), if there was one."""
        record = await self.store.end_staff_session(digest(sid))
        return who(record) if record is not None else None
