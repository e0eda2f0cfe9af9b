"""Interrupting `cascadesim run` at any moment stops every process it started, frees every port, and keeps the data.

Two interrupts by default; `CASCADESIM_INTERRUPTS=20 pytest tests/scenarios/test_interrupts_live.py` runs twenty.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scenarios.schema import load_scenario
from tests.loadgen.test_locust_live import locust_processes
from tests.ports import assert_port_free, on_free_ports

CLI = Path(sys.executable).with_name("cascadesim")
COUNT = int(os.environ.get("CASCADESIM_INTERRUPTS", "2"))
pytestmark = pytest.mark.live


@pytest.mark.parametrize("moment", random.Random(20251019).sample(range(1, 300), COUNT), ids=lambda m: f"{m / 10}s")
def test_an_interrupt_at_any_moment_leaves_nothing_running_and_keeps_the_run(tmp_path: Path, moment: int) -> None:
    """SIGINT `moment`/10 s after `cascadesim run` starts (cascade-live with Locust, cut to 40 s): exit 130 (or 0
    if it had finished), no Locust process, every port free again, and the run directory has its KPIs, meta and a
    report that says it was interrupted."""
    path = on_free_ports(tmp_path, "cascade-live")
    path.write_text(path.read_text().replace("duration = 150", "duration = 40"))
    scenario = load_scenario(path)
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
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode in (130, 0), (tmp_path / "stderr.txt").read_text()
    assert not locust_processes(out)
    udp, tcp = socket.SOCK_DGRAM, socket.SOCK_STREAM
    assert_port_free(("127.0.0.1", scenario.dns.authority_port), udp)
    assert_port_free(("127.0.0.1", scenario.dns.resolver_port), udp)
    for index in range(1, scenario.dynamodb.routers + 1):
        assert_port_free((f"127.0.1.{index}", scenario.dynamodb.port), tcp)
    assert scenario.ec2 is not None and scenario.lambda_ is not None
    assert_port_free(("127.0.2.1", scenario.ec2.port), tcp)
    assert_port_free(("127.0.3.1", scenario.lambda_.port), tcp)
    (directory,) = out.iterdir()
    meta = json.loads((directory / "meta.json").read_text())
    assert meta["interrupted"] is (run.returncode == 130)
    assert "kpis" in json.loads((directory / "kpis.json").read_text())
    assert (directory / "timeseries.csv").is_file() and (directory / "events.jsonl").is_file()
    report = (directory / "report.html").read_text()
    assert ("Interrupted." in report) is (run.returncode == 130)
