"""Staff sign-in through the office's OpenID Connect provider, without I/O: what the office
configures (``[sign_in]`` in its TOML) and which workplaces a person's groups allow.

The provider says who someone is and which groups (or app roles) they have; the office's
mapping says what each group may do here: a role, at which locations, at which counters.
A person may work at every workplace one of their groups allows, and chooses one after
signing in. Devices (terminals, screens, sensors) never sign in this way: their roles are
not among those a group can give.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from waitboard.core.staff import Workplace

#: The roles a person signs in for; terminals, displays and sensors stay devices.
PersonRole = Literal["reception", "counter", "caseworker", "admin"]
#: Roles not bound to a location.
OFFICE_WIDE = ("admin", "caseworker")
GroupName = Annotated[str, Field(min_length=1, max_length=200)]
_Https = Annotated[str, Field(pattern=r"^https?://[^\s?#]+$", max_length=300)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GroupRule(_Model):
    """Members of ``group`` (and of every group in ``also``) work as ``role`` at
    ``locations``; a counter role at ``counters`` of those (none named: every counter)."""

    group: GroupName
    also: list[GroupName] = Field(default_factory=list, max_length=10)
    role: PersonRole
    locations: list[Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]] = Field(default_factory=list)
    counters: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9-]+$")]] = Field(default_factory=list)

    def matches(self, groups: Iterable[str]) -> bool:
        have = set(groups)
        return self.group in have and all(g in have for g in self.also)


class SignIn(_Model):
    """The office's OpenID Connect provider and how its groups map to workplaces."""

    issuer: _Https
    client_id: Annotated[str, Field(min_length=1, max_length=200)]
    # A file holding the client secret (never the secret itself in the configuration).
    client_secret_file: Annotated[str, Field(min_length=1, max_length=500)]
    scopes: list[Annotated[str, Field(pattern=r"^[\x21-\x7e]+$")]] = Field(
        default_factory=lambda: ["openid", "profile", "email", "groups", "offline_access"]
    )
    # Where the groups are in the ID token / userinfo: "groups", "roles" (Entra's app
    # roles) or a dotted path such as "realm_access.roles" (Keycloak's realm roles).
    groups_claim: Annotated[str, Field(pattern=r"^[A-Za-z0-9_:/.-]+$", max_length=100)] = "groups"
    # How often a signed-in person's groups are asked again (refresh token or userinfo).
    recheck_minutes: int = Field(default=5, ge=1, le=12 * 60)
    # Sent with the authorization request where the provider needs it, e.g. "consent" for
    # a refresh token (offline_access) at some providers.
    prompt: Literal["none", "login", "consent", "select_account"] | None = None
    # Whether signing out also ends the session at the provider (if it offers that).
    end_provider_session: bool = True
    groups: list[GroupRule] = Field(min_length=1)

    @field_validator("scopes")
    @classmethod
    def _openid(cls, v: list[str]) -> list[str]:
        if "openid" not in v:
            raise ValueError("must contain 'openid' (OpenID Connect needs it)")
        return v

    @property
    def recheck_ms(self) -> int:
        return self.recheck_minutes * 60_000


def claimed_groups(claims: Mapping[str, Any], path: str) -> list[str] | None:
    """The groups at ``path`` (dotted) of the claims; None when the claim is missing
    (which is not the same as no groups: the provider may not have been asked for it)."""
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [g for g in node if isinstance(g, str)]
    return None


def workplaces(
    config: SignIn, counters_at: Mapping[str, Sequence[str]], groups: Iterable[str]
) -> list[Workplace]:
    """Every workplace ``groups`` allow, in the order of the configuration: an office-wide
    role once, reception once per location, a counter role once per counter (a person
    operates one counter at a time). ``counters_at``: each location's counters."""
    groups = list(groups)
    found: list[Workplace] = []
    for rule in config.groups:
        if not rule.matches(groups):
            continue
        if rule.role in OFFICE_WIDE:
            found.append(Workplace(rule.role, None))
            continue
        for loc in rule.locations:
            if rule.role == "reception":
                found.append(Workplace("reception", loc))
                continue
            at = counters_at.get(loc, ())
            for counter in [c for c in at if not rule.counters or c in rule.counters]:
                found.append(Workplace("counter", loc, (counter,)))
    return list(dict.fromkeys(found))
