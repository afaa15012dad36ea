"""The office's [sign_in] table: what it maps, and every mistake named so that an operator
can fix it (core/sign_in.py, core/office_checks.py, settings.py)."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import OFFICE_PATH, settings_for
from waitboard.app import create_app
from waitboard.core.errors import ConfigError
from waitboard.core.office import parse_office
from waitboard.core.sign_in import claimed_groups, workplaces
from waitboard.core.staff import Workplace
from waitboard.settings import SettingsError

COUNTERS = {"sued": ["1", "2"], "nord": ["1"]}


def raw_with(sign_in: dict[str, Any]) -> dict[str, Any]:
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    raw["sign_in"] = {
        "issuer": "https://login.example.de/realms/jobcenter",
        "client_id": "waitboard",
        "client_secret_file": "/run/secrets/waitboard-oidc",
        **sign_in,
    }
    return raw


def problems(sign_in: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_office(raw_with(sign_in), source="waitboard.toml")
    return str(info.value)


def test_groups_map_to_workplaces() -> None:
    """A rule gives its role at its locations - a counter role once per counter, only the
    named counters where it names some, only to members of every group it names; an
    office-wide role once; a person in several groups gets all, each once."""
    office = parse_office(
        raw_with(
            {
                "groups": [
                    {
                        "group": "adv",
                        "also": ["loc-sued"],
                        "role": "counter",
                        "locations": ["sued"],
                    },
                    {
                        "group": "adv-nord",
                        "role": "counter",
                        "locations": ["nord"],
                        "counters": ["1"],
                    },
                    {"group": "desk", "role": "reception", "locations": ["sued", "nord"]},
                    {"group": "it", "role": "admin"},
                ]
            }
        ),
        source="t",
    )
    config = office.sign_in
    assert config is not None
    assert config.recheck_minutes == 5
    assert workplaces(config, COUNTERS, ["adv"]) == []
    assert workplaces(config, COUNTERS, ["adv", "loc-sued"]) == [
        Workplace("counter", "sued", ("1",)),
        Workplace("counter", "sued", ("2",)),
    ]
    assert workplaces(config, COUNTERS, ["desk", "it", "adv-nord", "desk"]) == [
        Workplace("counter", "nord", ("1",)),
        Workplace("reception", "sued"),
        Workplace("reception", "nord"),
        Workplace("admin", None),
    ]


def test_groups_claim_paths() -> None:
    """The groups are read from a claim or a dotted path (Keycloak's realm roles); one
    string counts as one group; a missing claim is told apart from an empty one."""
    claims = {"groups": ["a", 3, "b"], "roles": "r", "realm_access": {"roles": ["x"]}}
    assert claimed_groups(claims, "groups") == ["a", "b"]
    assert claimed_groups(claims, "roles") == ["r"]
    assert claimed_groups(claims, "realm_access.roles") == ["x"]
    assert claimed_groups(claims, "wids") is None
    assert claimed_groups({"groups": []}, "groups") == []


def test_mistakes_are_named() -> None:
    """Unknown locations and counters, counters for a role without, locations missing or
    given to an office-wide role, a device role, no openid scope, no groups at all: each
    named with the rule it is in."""
    text = problems(
        {
            "scopes": ["profile"],
            "groups": [
                {"group": "a", "role": "counter", "locations": ["west"]},
                {"group": "b", "role": "reception", "locations": ["sued"], "counters": ["1"]},
                {"group": "c", "role": "counter", "locations": ["nord"], "counters": ["2"]},
                {"group": "d", "role": "admin", "locations": ["sued"]},
                {"group": "e", "role": "reception"},
                {"group": "f", "role": "terminal", "locations": ["sued"]},
            ],
        }
    )
    assert "sign_in.scopes: must contain 'openid'" in text
    assert "groups #1 (a): locations: 'west' is not a configured location (sued, nord)" in text
    assert "groups #2 (b): counters: only role counter operates counters" in text
    assert "groups #3 (c): counters: '2' is not a counter of nord" in text
    assert "groups #4 (d): locations: role admin works at every location; remove them" in text
    assert "groups #5 (e): locations: role reception needs the locations it works at" in text
    assert "sign_in.groups.5.role" in text
    assert "sign_in.groups: " in problems({"groups": []})
    assert "sign_in.client_secret: unknown field" in problems(
        {"client_secret": "in-the-file", "groups": [{"group": "it", "role": "admin"}]}
    )


def test_client_secret_file_must_be_readable(tmp_path: Path) -> None:
    """A client secret file that is missing or empty stops the start, saying which file and
    what to put there; in production the issuer must be https."""
    raw = raw_with({"groups": [{"group": "it", "role": "admin"}]})
    settings = settings_for("redis://127.0.0.1:1")
    raw["sign_in"]["client_secret_file"] = str(tmp_path / "missing")
    with pytest.raises(SettingsError, match="missing: cannot read it"):
        create_app(settings, office=parse_office(raw, source="t"))
    (tmp_path / "empty").write_text("\n")
    raw["sign_in"]["client_secret_file"] = str(tmp_path / "empty")
    with pytest.raises(SettingsError, match="is empty"):
        create_app(settings, office=parse_office(raw, source="t"))
    (tmp_path / "secret").write_text("s3cret\n")
    raw["sign_in"]["client_secret_file"] = str(tmp_path / "secret")
    raw["sign_in"]["issuer"] = "http://login.example.de"
    production = dataclasses.replace(settings, env="production", config_path=tmp_path / "o.toml")
    with pytest.raises(SettingsError, match="issuer must be an https"):
        create_app(production, office=parse_office(raw, source="t"))
