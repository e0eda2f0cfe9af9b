"""A live `cascadesim run` whose Locust dies mid-run says so: in the events, the report, and its exit status."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import (
    CLI,
    changed,
    event_records,
    eventually,
    locust_processes,
    on_free_ports,
    only_run,
    read_json,
    reap,
    scenario_file,
    shipped,
)

pytestmark = [pytest.mark.live, pytest.mark.slow]


def test_a_locust_process_killed_mid_run_is_recorded_and_the_run_fails(tmp_path: Path) -> None:
    """SIGKILL to Locust 10 s into its load: the run goes on to its end, then exits 1; events.jsonl has
    locust_exited, meta.json lists the problem, and report.html shows it."""
    path = scenario_file(changed(on_free_ports(shipped("cascade-live")), duration=35), tmp_path)
    out = tmp_path / "runs"
    run = subprocess.Popen(
        [str(CLI), "run", str(path), "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert eventually(lambda: bool(locust_processes(out)), 40), "Locust did not start"
        time.sleep(10)
        (victim,) = [int(line.split()[0]) for line in locust_processes(out)]
        os.kill(victim, signal.SIGKILL)
        run.wait(timeout=60)
    finally:
        reap(run)
    assert run.returncode == 1
    directory = only_run(out)
    assert any(event["kind"] == "locust_exited" for event in event_records(directory))
    problems = read_json(directory / "meta.json")["problems"]
    assert problems and "Locust exited" in problems[0]
    assert "Locust exited" in (directory / "report.html").read_text()
