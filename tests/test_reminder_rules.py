"""The reminders' rules without I/O: when they are due, what names them, what a job keeps of
the code; the office's ``reminders`` and the ``WAITBOARD_SMTP_*`` settings as checked."""

from __future__ import annotations

import hashlib
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import OFFICE_PATH
from waitboard.core import reminders
from waitboard.core.errors import ConfigError
from waitboard.core.office import parse_office
from waitboard.settings import Settings, SettingsError, SmtpSettings

TZ = ZoneInfo("Europe/Berlin")
TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
HOURS = [timedelta(hours=24), timedelta(hours=2)]
CODE, CODE_HASH = "K7QM4XPA", "c0de" * 16


def test_times_before_read_as_the_configuration_writes_them() -> None:
    """ "24h", "90m", "1d12h" read as durations; zero, too long or unreadable are refused."""
    assert reminders.parse_before("24h") == timedelta(hours=24)
    assert reminders.parse_before("90m") == timedelta(minutes=90)
    assert reminders.parse_before("1d12h") == timedelta(hours=36)
    for bad in ("", "0h", "31d", "24", "h", "2 hours", "-2h"):
        with pytest.raises(ValueError, match=r"before the appointment|at most 30 days"):
            reminders.parse_before(bad)


def test_reminders_whose_time_has_passed_or_of_the_same_day_are_not_scheduled() -> None:
    """Booked the day before at 08:00: both; at 10:30: only the 2-hour one; on the day: none."""
    monday = TUESDAY_10 - timedelta(days=1)
    due = reminders.due_reminders(TUESDAY_10, HOURS, monday.replace(hour=8), TZ)
    assert [d.at for d in due] == [monday, TUESDAY_10.replace(hour=8)]
    assert [d.label for d in due] == ["1440m", "120m"]
    late = reminders.due_reminders(TUESDAY_10, HOURS, monday.replace(hour=10, minute=30), TZ)
    assert [d.label for d in late] == ["120m"]
    assert reminders.due_reminders(TUESDAY_10, HOURS, TUESDAY_10.replace(hour=0), TZ) == []


def test_a_reminders_job_id_names_the_booking_the_slot_and_the_time_before() -> None:
    """Moving a booking gives its reminders new ids; the same reminder has the same id."""
    [due] = reminders.due_reminders(TUESDAY_10, HOURS[:1], TUESDAY_10 - timedelta(days=2), TZ)
    one = reminders.job_id("sued", CODE_HASH, 1000, due)
    assert one == reminders.job_id("sued", CODE_HASH, 1000, due)
    assert one != reminders.job_id("sued", CODE_HASH, 2000, due)
    assert CODE not in one


@pytest.mark.parametrize(
    ("contact", "mail"),
    [
        ("anna@example.org", True),
        (" anna.b+termin@sub.example.de ", True),
        ("+49 151 2345678", False),
        ("anna@localhost", False),
        ("a@b@example.org", False),
        ("Anna <anna@example.org>", False),
        (None, False),
    ],
)
def test_only_an_e_mail_address_is_mailed(contact: str | None, mail: bool) -> None:
    """A reminder goes to one plain address; a phone number, a name or two @ get none."""
    assert reminders.is_email(contact) is mail


def test_a_job_keeps_the_code_sealed_with_the_servers_secret() -> None:
    """The sealed code reads back with the same secret and booking only, and holds no code."""
    code_hash = hashlib.sha256(CODE.encode()).hexdigest()
    sealed = reminders.seal_code("secret-1", CODE, code_hash)
    assert CODE not in sealed
    assert reminders.open_code("secret-1", sealed, code_hash) == CODE
    assert reminders.open_code("secret-2", sealed, code_hash) is None
    assert reminders.open_code("secret-1", sealed, "0" * 64) is None
    assert reminders.open_code("secret-1", "not base64!", code_hash) is None


def test_the_office_reminds_the_day_before_unless_it_says_otherwise() -> None:
    """Default: 24 hours before; ``reminders = []`` sends none; a bad entry is named."""
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    assert parse_office(raw, "x.toml").reminder_befores == [timedelta(hours=24)]
    assert parse_office({**raw, "reminders": []}, "x.toml").reminder_befores == []
    with pytest.raises(ConfigError) as e:
        parse_office({**raw, "reminders": ["24h", "soon"]}, "x.toml")
    assert "reminders" in str(e.value) and "'soon'" in str(e.value)


BASE = {"WAITBOARD_SECRET_KEY": "k", "WAITBOARD_MAIL_FROM": "Jobcenter <termine@example.de>"}


@pytest.mark.parametrize(
    ("url", "security", "port"),
    [
        ("smtp://relay.internal", "plain", 25),
        ("smtps://mail.example.de", "tls", 465),
        ("smtp+starttls://mail.example.de", "starttls", 587),
        ("smtp+starttls://mail.example.de:2525", "starttls", 2525),
    ],
)
def test_the_smtp_url_says_how_to_talk_to_the_server(url: str, security: str, port: int) -> None:
    """The scheme picks plain, TLS or STARTTLS and the usual port; the URL round-trips."""
    smtp = Settings.from_env({**BASE, "WAITBOARD_SMTP_URL": url}).smtp
    assert smtp is not None and (smtp.security, smtp.port) == (security, port)
    again = Settings.from_env(Settings.from_env({**BASE, "WAITBOARD_SMTP_URL": url}).as_environ())
    assert again.smtp == smtp


def test_without_an_smtp_url_there_are_no_reminders() -> None:
    """Unset: no SMTP settings (the start-up log says reminders are off)."""
    assert Settings.from_env(BASE).smtp is None


def test_the_smtp_password_may_come_from_a_file(tmp_path: Path) -> None:
    """``WAITBOARD_SMTP_PASSWORD_FILE`` as for the other secrets; it is never printed."""
    (tmp_path / "pw").write_text("s3cret\n")
    env = {
        **BASE,
        "WAITBOARD_SMTP_URL": "smtps://mail.example.de",
        "WAITBOARD_SMTP_USER": "termine",
        "WAITBOARD_SMTP_PASSWORD_FILE": str(tmp_path / "pw"),
    }
    smtp = Settings.from_env(env).smtp
    assert smtp == SmtpSettings(
        "mail.example.de", 465, "tls", BASE["WAITBOARD_MAIL_FROM"], "termine", "s3cret"
    )
    assert "s3cret" not in repr(smtp)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"WAITBOARD_SMTP_URL": "http://mail.example.de"}, "smtps://host:465"),
        ({"WAITBOARD_SMTP_URL": "smtps://u:p@mail.example.de"}, "out of the URL"),
        ({"WAITBOARD_SMTP_URL": "smtps://mail.example.de:x"}, "port"),
        (
            {"WAITBOARD_SMTP_URL": "smtp://relay", "WAITBOARD_SMTP_USER": "u"},
            "in clear",
        ),
        ({"WAITBOARD_SMTP_URL": "smtps://mail.example.de", "WAITBOARD_MAIL_FROM": ""}, "MAIL_FROM"),
    ],
)
def test_a_wrong_smtp_setting_says_what_to_do(env: dict[str, str], says: str) -> None:
    """Each mistake stops the start with a message that names the fix."""
    with pytest.raises(SettingsError, match="WAITBOARD_") as e:
        Settings.from_env({**BASE, **env})
    assert says in str(e.value)
