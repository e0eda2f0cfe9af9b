"""A live `cascadesim run` whose Locust dies mid-run says so: in the events, the report, and its exit status."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.loadgen.test_locust_live import locust_processes
from tests.ports import on_free_ports

CLI = Path(sys.executable).with_name("cascadesim")
pytestmark = [pytest.mark.live, pytest.mark.slow]


def test_a_locust_process_killed_mid_run_is_recorded_and_the_run_fails(tmp_path: Path) -> None:
    """SIGKILL to Locust 10 s into its load: the run goes on to its end, then exits 1; events.jsonl has
    locust_exited, meta.json lists the problem, and report.html shows it."""
    path = on_free_ports(tmp_path, "cascade-live")
    path.write_text(path.read_text().replace("duration = 150", "duration = 35"))
    out = tmp_path / "runs"
    run = subprocess.Popen(
        [str(CLI), "run", str(path), "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not locust_processes(out):
            time.sleep(0.5)
        time.sleep(10)
        (victim,) = [int(line.split()[0]) for line in locust_processes(out)]
        os.kill(victim, signal.SIGKILL)
        run.wait(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 1
    (directory,) = out.iterdir()
    events = (directory / "events.jsonl").read_text()
    assert '"kind": "locust_exited"' in events
    problems = json.loads((directory / "meta.json").read_text())["problems"]
    assert problems and "Locust exited" in problems[0]
    assert "Locust exited" in (directory / "report.html").read_text()
