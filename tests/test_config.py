"""The office configuration: the demo office is valid; every error is named precisely."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from waitboard.core.errors import ConfigError
from waitboard.settings import DEMO_CONFIG, load_office

GOOD = """
timezone = "Europe/Berlin"
[[locations]]
id = "sued"
name = "Jobcenter Süd"
hours = { mon = "08:00-12:30" }
  [[locations.queues]]
  id = "A"
  name = "Eingangszone"
  service_minutes = 6
  [[locations.counters]]
  id = "3"
  name = "Schalter 3"
  queues = ["A"]
[[devices]]
id = "terminal-sued-1"
role = "terminal"
location = "sued"
token_sha256 = "TOKEN_HASH"
""".replace("TOKEN_HASH", hashlib.sha256(b"x").hexdigest())


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "office.toml"
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_office(path)
    return info.value.errors


def test_demo_office_is_valid_and_realistic() -> None:
    """The shipped demo: 3 locations, 2-3 walk-in queues and 3-6 counters each, devices for
    all; appointments can be booked at one location at least."""
    office = load_office(DEMO_CONFIG)
    assert len(office.locations) == 3
    assert any(loc.appointment_queues for loc in office.locations)
    for loc in office.locations:
        assert 2 <= len(loc.walk_in_queues) <= 3
        assert 3 <= len(loc.counters) <= 6
        assert {d.role for d in office.devices if d.location == loc.id} >= {
            "terminal",
            "reception",
            "counter",
            "display",
        }
    assert any(d.role == "admin" for d in office.devices)


def test_a_good_file_loads(tmp_path: Path) -> None:
    """The contract's example shape loads into typed values."""
    office = load_office(write(tmp_path, GOOD))
    loc = office.location_by_id["sued"]
    assert loc.queue_by_id["A"].service_minutes == 6
    assert loc.layout.counters == {"3": ("A",)}


def test_error_names_file_location_queue_and_field(tmp_path: Path) -> None:
    """A bad value in a queue is reported as PATH: location sued, queue A: field: why."""
    path = write(tmp_path, GOOD.replace("service_minutes = 6", "service_minutes = -1"))
    assert errors_of(path) == [
        f"{path}: location sued, queue A: service_minutes: Input should be greater than 0"
    ]


def test_every_error_is_reported_not_just_the_first(tmp_path: Path) -> None:
    """Three mistakes in different places give three lines."""
    text = (
        GOOD.replace("service_minutes = 6", 'service_minutes = "six"')
        .replace('name = "Schalter 3"', 'nam = "Schalter 3"')
        .replace('role = "terminal"', 'role = "kiosk"')
    )
    errors = errors_of(write(tmp_path, text))
    assert len(errors) == 4, errors  # missing 'name' and unknown 'nam' are two
    joined = "\n".join(errors)
    assert "location sued, queue A: service_minutes:" in joined
    assert "location sued, counter 3: nam: unknown field" in joined
    assert "location sued, counter 3: name: required" in joined
    assert "device terminal-sued-1: role:" in joined


def test_references_must_resolve(tmp_path: Path) -> None:
    """A counter serving a missing queue, a device at a missing location, both named."""
    text = GOOD.replace('queues = ["A"]', 'queues = ["A", "Z"]').replace(
        'location = "sued"', 'location = "west"'
    )
    errors = errors_of(write(tmp_path, text))
    assert any("location sued, counter 3: queues: 'Z' is not a queue" in e for e in errors)
    assert any("device terminal-sued-1: location: 'west' is not a configured" in e for e in errors)


def test_duplicate_ids_and_bad_hours(tmp_path: Path) -> None:
    """Two queues with one id and an impossible opening time are both reported."""
    text = GOOD.replace('hours = { mon = "08:00-12:30" }', 'hours = { mon = "12:30-08:00" }')
    text = text.replace(
        "  [[locations.counters]]",
        """  [[locations.queues]]
  id = "A"
  name = "Zweite"
  service_minutes = 5
  [[locations.counters]]""",
    )
    errors = errors_of(write(tmp_path, text))
    assert any("location sued: hours: '12:30-08:00' ends before it starts" in e for e in errors), (
        errors
    )


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    """Syntax errors and a missing file are one clear line each."""
    assert "not valid TOML" in errors_of(write(tmp_path, "locations = ["))[0]
    assert errors_of(tmp_path / "nope.toml") == [f"{tmp_path / 'nope.toml'}: file not found"]


def waitboard(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "waitboard", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kw,
    )  # type: ignore[call-overload]


def test_check_config_command(tmp_path: Path) -> None:
    """`waitboard check-config`: exit 0 with a summary, or exit 1 with every error."""
    ok = waitboard("check-config", str(DEMO_CONFIG))
    assert ok.returncode == 0, ok.stderr
    assert "ok (3 locations" in ok.stdout
    bad = write(tmp_path, GOOD.replace("service_minutes = 6", "service_minutes = 0"))
    failed = waitboard("check-config", str(bad))
    assert failed.returncode == 1
    assert f"{bad}: location sued, queue A: service_minutes:" in failed.stderr


def test_check_config_shows_type_and_reference_errors_in_one_run(tmp_path: Path) -> None:
    """A file with a wrong type AND references that do not resolve: one run of check-config
    names them all, so that the operator does not fix one layer and find the next."""
    text = (
        GOOD.replace("service_minutes = 6", 'service_minutes = "six"')
        .replace('queues = ["A"]', 'queues = ["A", "Z"]')
        .replace('location = "sued"', 'location = "nord"')
    )
    bad = write(tmp_path, text)
    failed = waitboard("check-config", str(bad))
    assert failed.returncode == 1
    for expected in (
        f"{bad}: location sued, queue A: service_minutes: Input should be a valid number",
        f"{bad}: location sued, counter 3: queues: 'Z' is not a queue of this location",
        f"{bad}: device terminal-sued-1: location: 'nord' is not a configured location",
    ):
        assert expected in failed.stderr, failed.stderr


def test_token_command_prints_a_token_and_its_hash() -> None:
    """`waitboard token ID` prints a fresh token once and the matching config line."""
    out = waitboard("token", "terminal-sued-2")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    value = lines[1].strip()
    assert len(value) >= 40
    assert f'token_sha256 = "{hashlib.sha256(value.encode()).hexdigest()}"' in out.stdout
    assert waitboard("token", "x").stdout.splitlines()[1] != lines[1]  # random each time


# --- names in the languages of the lobby ----------------------------------------------------


def test_names_in_other_languages_fall_back_to_german(tmp_path: Path) -> None:
    """A Turkish terminal's button names the service in Turkish where the office gave the
    name; a language without one shows the German name, never an empty button."""
    text = GOOD.replace(
        'name = "Eingangszone"',
        'name = "Eingangszone"\n  name_en = "Entrance"\n'
        '  names = { tr = "Karşılama", ar = "الاستقبال" }',
    )
    queue = load_office(write(tmp_path, text)).location_by_id["sued"].queue_by_id["A"]
    assert queue.display_name("tr") == "Karşılama"
    assert queue.display_name("ar") == "الاستقبال"
    assert queue.display_name("en") == "Entrance"
    assert queue.display_name("de") == "Eingangszone"
    assert queue.display_name("uk") == "Eingangszone"
    assert queue.name_in("uk") is None


def test_a_name_in_an_unknown_language_or_english_twice_is_refused(tmp_path: Path) -> None:
    unknown = GOOD.replace('name = "Eingangszone"', 'name = "Eingangszone"\n  names = { fr = "x" }')
    (error,) = errors_of(write(tmp_path, unknown))
    assert "location sued, queue A: names" in error
    twice = GOOD.replace(
        'name = "Schalter 3"',
        'name = "Schalter 3"\n  name_en = "Desk 3"\n  names = { en = "Desk 3" }',
    )
    (error,) = errors_of(write(tmp_path, twice))
    assert "location sued, counter 3" in error
    assert "English name is given twice" in error


def test_check_config_warns_of_names_missing_in_a_language(tmp_path: Path) -> None:
    """Missing names are a warning, not an error: the office starts, and check-config says
    where the German name will stand in."""
    path = write(
        tmp_path,
        GOOD.replace(
            'name = "Eingangszone"',
            'name = "Eingangszone"\n  names = { en = "Entrance", tr = "Karşılama",'
            ' ar = "الاستقبال", uk = "Прийом", ru = "Приём", ls = "Eingang" }',
        ),
    )
    result = waitboard("check-config", str(path))
    assert result.returncode == 0, result.stderr
    assert "ok (1 locations" in result.stdout
    warnings = result.stderr.splitlines()
    assert f"{path}: warning: location sued: no name in en, tr, ar, uk, ru, ls" in warnings[0]
    assert any("counter 3: no name in en, tr, ar, uk, ru, ls" in w for w in warnings)
    assert not any("queue A" in w for w in warnings)


def test_the_demo_office_names_everything_in_every_language() -> None:
    assert load_office(DEMO_CONFIG).missing_names() == []
