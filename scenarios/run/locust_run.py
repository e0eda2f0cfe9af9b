"""Running Locust from the cloud's side: as subprocesses, never imported (gevent cannot share a process with the
cloud's event loop).

Locust runs headless, its load shape taken from the run's load plan (loadgen/plan.py, as JSON; read by
loadgen/locustfile.py), with its CSV (with full
history) and HTML report in `<run>/locust/` and the users' own per-second outcomes in
`<run>/locust/outcomes-<pid>.csv`. It runs as one process, as one process forking `processes` workers (Locust's
`--processes`), or as a master plus `workers` worker processes (Locust's distributed mode, the same that spreads
load over several machines). On the way out (the run's end, Ctrl-C or an error) every Locust process gets SIGINT
(the master then writes its reports), and SIGKILL if it has not exited 7 s later.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import anyio
from anyio.abc import Process, TaskStatus

from services.net.addresses import HOST
from services.reaper import REAPER

LOCUSTFILE = Path(__file__).resolve().parents[2] / "loadgen" / "locustfile.py"
STOP_GRACE = 7.0  # the whole serve must be gone within 10 s of Ctrl-C
MASTER_HOST = HOST


@dataclass(frozen=True)
class LocustPlan:
    """How to run Locust for one run."""

    load_plan: Path  # the run's LoadPlan as JSON
    run_dir: Path
    until: float  # seconds into the run when the load stops
    users: int | None = None  # a constant total instead of the scenario's stages
    processes: int = 1  # Locust's --processes
    workers: int = 0  # >0: a master plus this many worker processes

    @property
    def out(self) -> Path:
        return self.run_dir / "locust"


def master_command(plan: LocustPlan, master_port: int | None) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--csv",
        str(plan.out / "stats"),
        "--csv-full-history",
        "--html",
        str(plan.out / "report.html"),
        "--only-summary",
    ]
    if master_port is not None:
        command += [
            "--master",
            "--master-bind-host",
            MASTER_HOST,
            "--master-bind-port",
            str(master_port),
            "--expect-workers",
            str(plan.workers),
            "--expect-workers-max-wait",
            "30",
        ]
    elif plan.processes > 1:
        command += ["--processes", str(plan.processes)]
    return command


def worker_command(master_port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--worker",
        "--master-host",
        MASTER_HOST,
        "--master-port",
        str(master_port),
    ]


def locust_environment(plan: LocustPlan, run_start: float) -> dict[str, str]:
    """What the locustfile reads: the load plan, where to write, and the cloud's clock (the event loop's clock, trio's
    or asyncio's, is CLOCK_MONOTONIC on Linux, as time.perf_counter() is, give or take an offset, so the offset is
    measured here, in the cloud's process)."""
    offset = anyio.current_time() - time.perf_counter()
    env = {
        **os.environ,
        "CASCADESIM_LOAD_PLAN": str(plan.load_plan),
        "CASCADESIM_RUN_DIR": str(plan.out),
        "CASCADESIM_UNTIL": f"{plan.until:.3f}",
        "CASCADESIM_CLOCK": f"{offset!r} {run_start!r}",
    }
    if plan.users is not None:
        env["CASCADESIM_USERS"] = str(plan.users)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((MASTER_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


async def run_locust(
    plan: LocustPlan, run_start: float, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
) -> int:
    """Run Locust until its load shape ends or this task is cancelled; returns the (master's) exit status.

    `run_start` is the run's start on the event loop's clock: the scenario's time 0.
    """
    plan.out.mkdir(parents=True, exist_ok=True)
    env = locust_environment(plan, run_start)
    master_port = _free_port() if plan.workers > 0 else None
    processes: list[Process] = []
    logs: list[IO[bytes]] = []

    async def start(command: list[str], log_name: str) -> Process:
        log = (plan.out / log_name).open("wb")
        logs.append(log)
        process = await anyio.open_process(
            command,
            env=env,
            stdin=None,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop Locust ourselves, in order
        )
        processes.append(process)
        REAPER.watch(process.pid)  # stopped even if this runner is killed hard
        return process

    try:
        master = await start(master_command(plan, master_port), "locust.log")
        if master_port is not None:
            for index in range(1, plan.workers + 1):
                await start(worker_command(master_port), f"worker-{index}.log")
        task_status.started()
        return await master.wait()
    finally:
        with anyio.CancelScope(shield=True):
            await stop_all(processes)
        for log in logs:
            log.close()


async def stop_all(processes: list[Process]) -> None:
    """SIGINT to each process group still running (master first), a grace period for all of them, including
    the workers a `--processes` master forked into its group, to write their files and exit, then SIGKILL."""
    for process in processes:
        if process.returncode is None or _group_alive(process):  # a leader gone may leave its group behind
            _signal(process, signal.SIGINT)  # not SIGTERM: only on SIGINT does Locust still write its HTML
    with anyio.move_on_after(STOP_GRACE):
        for process in processes:
            await process.wait()
        while any(_group_alive(process) for process in processes):  # noqa: ASYNC110 (no event for "group gone")
            await anyio.sleep(0.1)
    for process in processes:
        _signal(process, signal.SIGKILL)
        await process.wait()
        REAPER.forget(process.pid)


def _group_alive(process: Process) -> bool:
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True


def _signal(process: Process, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group has already gone
        os.killpg(process.pid, signum)
