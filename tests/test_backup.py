"""Backup and restore of the embedded Redis: a day's tickets come back."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.helpers import OFFICE_PATH, ROOT, TIMEOUT, ServeProcess, auth

StartServe = Callable[..., ServeProcess]


def waitboard(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "WAITBOARD_DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "waitboard", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_backup_of_a_running_service_restores_after_data_loss(
    serve_processes: StartServe, tmp_path: Path
) -> None:
    """Back up while serving; lose the data; restore; serve again: the tickets are back
    and numbering continues."""
    data = tmp_path / "data"
    first = serve_processes()
    for queue in "AAB":
        r = httpx.post(
            first.url + "/api/v1/locations/sued/tickets",
            json={"queue": queue},
            headers=auth("terminal-sued"),
            timeout=TIMEOUT,
        )
        assert r.status_code == 201
    backup = tmp_path / "backups" / "waitboard.rdb"
    done = waitboard("backup", str(backup), data=data)
    assert done.returncode == 0, done.stderr
    assert backup.stat().st_size > 0
    refused = waitboard("restore", str(backup), data=data)  # not while it runs
    assert refused.returncode == 1 and "stop it before restoring" in refused.stderr
    assert (data / "appendonly.aof").exists()  # and nothing was touched
    assert first.stop() == 0

    (data / "appendonly.aof").unlink()  # the disk is lost
    restored = waitboard("restore", str(backup), data=data)
    assert restored.returncode == 0, restored.stderr
    assert (data / "appendonly.aof.before-restore").exists() is False  # nothing to keep

    second = serve_processes(args=("--config", str(OFFICE_PATH)))
    snap = httpx.get(second.url + "/api/v1/locations/sued", timeout=TIMEOUT).json()
    assert [q["waiting"] for q in snap["queues"]] == [2, 1]
    r = httpx.post(
        second.url + "/api/v1/locations/sued/tickets",
        json={"queue": "A"},
        headers=auth("terminal-sued"),
        timeout=TIMEOUT,
    )
    assert r.json()["number"] == "A003"


def test_backup_needs_a_running_service(tmp_path: Path) -> None:
    """Without a running waitboard there is nothing to back up: one clear line."""
    out = waitboard("backup", str(tmp_path / "x.rdb"), data=tmp_path / "empty")
    assert out.returncode == 1 and "no running waitboard Redis" in out.stderr
