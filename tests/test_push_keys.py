"""The VAPID key that signs push messages: generated once in development, the operator's
file in production, and the JWT as RFC 8292 wants it."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from tests.helpers import OFFICE_PATH
from waitboard.app import check_production
from waitboard.messaging import vapid_contact
from waitboard.services.push_keys import DEV_KEY_FILE, JWT_LIFETIME_S, PushKeys, check_contact
from waitboard.settings import Settings, SettingsError, load_office

PRODUCTION = {"WAITBOARD_ENV": "production", "WAITBOARD_SECRET_KEY": "k" * 43}


def test_a_development_key_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    first = PushKeys.load(None, tmp_path, "mailto:it@example.org")
    again = PushKeys.load(None, tmp_path, "mailto:it@example.org")
    assert first.public_key == again.public_key  # subscriptions outlive a restart
    assert len(base64.urlsafe_b64decode(first.public_key + "=")) == 65
    mode = stat.S_IMODE((tmp_path / DEV_KEY_FILE).stat().st_mode)
    assert mode == 0o600


def test_production_needs_the_key_file_and_names_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="WAITBOARD_VAPID_PRIVATE_KEY_FILE is required"):
        Settings.from_env(PRODUCTION)
    missing = tmp_path / "nowhere.pem"
    settings = Settings.from_env(
        {**PRODUCTION, "WAITBOARD_VAPID_PRIVATE_KEY_FILE": str(missing)},
        config_path=OFFICE_PATH,
    )
    with pytest.raises(SettingsError, match="no such file"):
        check_production(settings, load_office(OFFICE_PATH))


def test_the_contact_must_be_mailto_or_https() -> None:
    with pytest.raises(SettingsError, match="WAITBOARD_VAPID_CONTACT"):
        Settings.from_env({"WAITBOARD_VAPID_CONTACT": "it@example.org"})
    ok = Settings.from_env({"WAITBOARD_VAPID_CONTACT": "https://jobcenter.example/it"})
    assert Settings.from_env(ok.as_environ()).vapid_contact == "https://jobcenter.example/it"


def test_the_jwt_names_the_push_service_origin_and_expires_within_a_day(tmp_path: Path) -> None:
    keys = PushKeys.load(None, tmp_path, "mailto:it@example.org")
    header = keys.authorization("https://fcm.example.com:8443/send/abc?x=1", now_s=1_000_000)
    scheme, rest = header.split(" ", 1)
    parts = dict(p.strip().split("=", 1) for p in rest.split(","))
    assert scheme == "vapid" and parts["k"] == keys.public_key
    claims = json.loads(base64.urlsafe_b64decode(parts["t"].split(".")[1] + "=="))
    assert claims["aud"] == "https://fcm.example.com:8443"
    assert claims["sub"] == "mailto:it@example.org"
    assert 1_000_000 < claims["exp"] <= 1_000_000 + JWT_LIFETIME_S <= 1_000_000 + 24 * 3600


def test_a_contact_push_services_refuse_stops_the_start() -> None:
    """py-vapid signs only mailto: or a bare https origin: anything else would make every
    message fail, so the service does not start with it."""
    settings = Settings.from_env(
        {"WAITBOARD_VAPID_CONTACT": "https://jobcenter.example/kontakt"},
        config_path=OFFICE_PATH,
    )
    with pytest.raises(SettingsError, match="WAITBOARD_VAPID_CONTACT"):
        check_production(settings, load_office(OFFICE_PATH))
    with_path = Settings.from_env(
        {"WAITBOARD_PUBLIC_URL": "https://stadt.example/warten"}, config_path=OFFICE_PATH
    )
    assert vapid_contact(with_path) == "https://stadt.example"  # (its origin)
    check_production(with_path, load_office(OFFICE_PATH))
    check_contact("mailto:it@jobcenter.example")
