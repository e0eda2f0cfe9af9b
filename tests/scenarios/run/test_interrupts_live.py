"""Interrupting `cascadesim run` at any moment stops every process it started, frees every port, and keeps the data.

Two interrupts by default; `CASCADESIM_INTERRUPTS=20 pytest tests/scenarios/run/test_interrupts_live.py` runs twenty.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import (
    CLI,
    assert_scenario_ports_free,
    changed,
    locust_processes,
    on_free_ports,
    only_run,
    read_json,
    reap,
    scenario_file,
    shipped,
)

COUNT = int(os.environ.get("CASCADESIM_INTERRUPTS", "2"))
pytestmark = pytest.mark.live


@pytest.mark.parametrize("moment", random.Random(20251019).sample(range(1, 300), COUNT), ids=lambda m: f"{m / 10}s")
def test_an_interrupt_at_any_moment_leaves_nothing_running_and_keeps_the_run(tmp_path: Path, moment: int) -> None:
    """SIGINT `moment`/10 s after `cascadesim run` starts (cascade-live with Locust, cut to 40 s): exit 130 (or 0
    if it had finished), no Locust process, every port free again, and the run directory has its KPIs, meta and a
    report that says it was interrupted."""
    scenario = changed(on_free_ports(shipped("cascade-live")), duration=40)
    path = scenario_file(scenario, tmp_path)
    out = tmp_path / "runs"
    with (tmp_path / "stderr.txt").open("wb") as stderr:
        run = subprocess.Popen(
            [str(CLI), "run", str(path), "--out", str(out)], stdout=subprocess.DEVNULL, stderr=stderr
        )
    try:
        time.sleep(moment / 10)
        run.send_signal(signal.SIGINT)
        run.wait(timeout=15)
    finally:
        reap(run)
    assert run.returncode in (130, 0), (tmp_path / "stderr.txt").read_text()
    assert not locust_processes(out)
    assert_scenario_ports_free(scenario)
    assert scenario.ec2 is not None and scenario.lambda_ is not None
    directory = only_run(out)
    meta = read_json(directory / "meta.json")
    assert meta["interrupted"] is (run.returncode == 130)
    assert "kpis" in read_json(directory / "kpis.json")
    assert (directory / "timeseries.csv").is_file() and (directory / "events.jsonl").is_file()
    report = (directory / "report.html").read_text()
    assert ("Interrupted." in report) is (run.returncode == 130)
