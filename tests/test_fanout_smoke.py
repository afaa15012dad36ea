"""The fan-out benchmark's smoke run (500 connections, 5 s): loose floors only.

The real figures are in benchmarks/RESULTS.md; this catches a regression of several times
(a hub that stopped coalescing, a per-client Redis read, a fan-out that blocks), not a
few per cent. Its latency is reported, not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Report

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(240)
def test_fanout_smoke_run_reaches_every_client(tmp_path: Path, report: Report) -> None:
    """500 screens on one location, 10 changes/s: all connect, none dropped, no frame
    twice, and each sees most of the coalesced snapshots (at least a fifth of what this
    machine delivers)."""
    out = tmp_path / "smoke.json"
    proc = subprocess.run(
        [sys.executable, "benchmarks/fanout.py", "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = json.loads(out.read_text())["runs"]
    report(
        f"500 connections, 10 changes/s: {run['frames_per_s']:.0f} frames/s, p99 "
        f"{run['p99_ms']:.0f} ms, server CPU {run['cpu_pct']:.0f}%, "
        f"{run['rss_per_conn_kb']:.1f} KB per connection"
    )
    assert run["connected"] == 500
    assert run["dropped"] == 0
    assert run["duplicates"] == 0
    assert run["driver_errors"] == 0
    # Offered: 10 changes/s x 500 clients = 5000 frames/s; the hub sends at most one
    # snapshot per change, and delivers ~4,500 here. A fifth of that is the floor.
    assert run["frames_per_s"] >= 900
    # (Latency is reported above, not asserted: beside the rest of the suite on the other
    # core it swings from 26 ms to a second; benchmarks/RESULTS.md measures it alone.)
