"""The soak benchmark (benchmarks/soak.py) for 10 minutes: nothing grows without bound, nothing is left. Under
`slow` (it takes 10 minutes); the hour-long run's figures are in docs/benchmarks.md."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.live]


def test_ten_minutes_of_churn_leave_no_growth_and_no_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.soak", "--minutes", "10", "--interval", "30", "--warm-up", "120"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "processes left after the run: none" in done.stdout
