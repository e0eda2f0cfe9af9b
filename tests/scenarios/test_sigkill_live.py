"""A runner killed hard (SIGKILL: the OOM killer, a CI timeout) leaves nothing behind: its nginx, Locust's processes
and the user's program (and that program's children) are gone within 10 s (services/reaper.py), and the same
command, run again at once, starts on the same ports. One kill per command in the default suite, ten under `slow`."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import CLI, event_records, on_free_ports, reap, scenario_file, shipped

pytestmark = pytest.mark.live

NGINX = shutil.which("nginx") or (shutil.which("nginx", path="/usr/sbin:/sbin"))
# When to kill, after the run started: nginx is there from the start; the program and Locust from the cloud's
# readiness (DWFM's leases, about 10 s into cascade-live).
WINDOW = {"run": (1.0, 12.0), "exec": (11.0, 30.0)}
GUEST = [sys.executable, "-c", "import subprocess, time; subprocess.Popen(['sleep', '300']); time.sleep(300)"]


def command(kind: str, scenario: Path, out: Path) -> list[str]:
    if kind == "run":
        return [str(CLI), "run", str(scenario), "--out", str(out)]
    return [str(CLI), "exec", str(scenario), "--out", str(out), "--", *GUEST]


def started(process: subprocess.Popen[bytes], out: Path, timeout: float) -> bool:
    """The run got going: its events say it started, and the process is still there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        runs = [d for d in out.glob("*/") if (d / "events.jsonl").exists()] if out.exists() else []
        if runs and any(e["kind"] == "run_started" for e in event_records(runs[0])):
            return True
        time.sleep(0.2)
    return False


def kill_and_check(kind: str, tmp_path: Path, kills: int, seed: int) -> None:
    name = "dns-race-nginx" if kind == "run" else "cascade-live"
    scenario = scenario_file(on_free_ports(shipped(name)), tmp_path)
    rng = random.Random(seed)
    for k in range(kills):
        out = tmp_path / f"runs-{k}"
        runner = subprocess.Popen(command(kind, scenario, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert started(runner, out, 60), f"kill {k}: the run did not start"
            time.sleep(rng.uniform(*WINDOW[kind]))
            family = psutil.Process(runner.pid).children(recursive=True)
            assert family, "the runner started no process of its own"
            runner.send_signal(signal.SIGKILL)
            runner.wait(10)
            _, alive = psutil.wait_procs(family, timeout=10)
            left = [f"{p.pid} {p.name()}" for p in alive if p.status() != psutil.STATUS_ZOMBIE]
            assert not left, f"kill {k}: still running 10 s after the runner was killed: {left}"
        finally:
            reap(runner)
        again = subprocess.Popen(
            command(kind, scenario, tmp_path / f"again-{k}"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            assert started(again, tmp_path / f"again-{k}", 60), f"kill {k}: the same command did not start again"
            again.send_signal(signal.SIGINT)
            again.wait(30)
        finally:
            reap(again)


@pytest.mark.parametrize("kind", ["run", "exec"])
def test_a_runner_killed_hard_leaves_nothing_and_its_ports_free(kind: str, tmp_path: Path) -> None:
    if kind == "run" and NGINX is None:
        pytest.skip("Debian's nginx is not installed (apt-get install nginx)")
    kill_and_check(kind, tmp_path, kills=1, seed=1 if kind == "run" else 2)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["run", "exec"])
def test_a_runner_killed_hard_at_ten_random_moments(kind: str, tmp_path: Path) -> None:
    if kind == "run" and NGINX is None:
        pytest.skip("Debian's nginx is not installed (apt-get install nginx)")
    kill_and_check(kind, tmp_path, kills=10, seed=10 if kind == "run" else 20)
