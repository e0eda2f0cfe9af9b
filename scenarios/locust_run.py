"""Running Locust from the trio side: as a subprocess, never imported (gevent and trio cannot share a process).

Locust runs headless with its CSV (with full history) and HTML report in `<run>/locust/`, and the users' own
per-second outcomes in `<run>/locust/outcomes-<pid>.csv`. On the way out — the run's end, Ctrl-C or an error —
Locust gets SIGINT (it then writes its reports), and SIGKILL if it has not exited 7 s later.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import trio

LOCUSTFILE = Path(__file__).resolve().parents[1] / "loadgen" / "locustfile.py"
STOP_GRACE = 7.0  # the whole serve must be gone within 10 s of Ctrl-C


def locust_command(run_dir: Path, users: int, spawn_rate: float, seconds: float, processes: int) -> list[str]:
    out = run_dir / "locust"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(users),
        "-r",
        f"{spawn_rate:g}",
        "-t",
        f"{max(1, int(seconds))}s",
        "--csv",
        str(out / "stats"),
        "--csv-full-history",
        "--html",
        str(out / "report.html"),
        "--only-summary",
    ]
    if processes > 1:
        command += ["--processes", str(processes)]
    return command


async def run_locust(
    scenario: Path,
    run_dir: Path,
    *,
    users: int,
    spawn_rate: float,
    seconds: float,
    processes: int = 1,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> int:
    """Run Locust until it finishes its time or this task is cancelled; returns its exit status."""
    (run_dir / "locust").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CASCADESIM_SCENARIO": str(scenario), "CASCADESIM_RUN_DIR": str(run_dir / "locust")}
    log = (run_dir / "locust" / "locust.log").open("wb")
    process = await trio.lowlevel.open_process(
        locust_command(run_dir, users, spawn_rate, seconds, processes),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches us; we stop Locust ourselves, in order
    )
    try:
        task_status.started()
        return await process.wait()
    finally:
        with trio.CancelScope(shield=True):
            await _stop(process)
        log.close()


async def _stop(process: trio.Process) -> None:
    if process.returncode is not None:
        return
    # SIGINT, not SIGTERM: only on KeyboardInterrupt does Locust still write its HTML report before exiting.
    os.killpg(process.pid, signal.SIGINT)
    with trio.move_on_after(STOP_GRACE):
        await process.wait()
        return
    os.killpg(process.pid, signal.SIGKILL)
    await process.wait()
