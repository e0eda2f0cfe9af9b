"""An hour of churn, live: does anything grow without bound?

    python -m benchmarks.soak [--minutes 60] [--interval 60] [--users 20]

`cascadesim exec` of cascade-live stretched to `--minutes` (on ports the kernel picks), with Locust's users, an STS
behind an NLB whose health checkers are replaced every few seconds, EC2 launches and terminations, and the outage
over and over: every 5 minutes the DNS race (planner churn and a slow Enactor), the operators' repair a minute
later, a router killed for 20 s; the guest is examples/getitem_every_second.py, which re-resolves DynamoDB's name on
every call. Every `--interval` seconds it samples, from outside: the cloud's process (RSS, open file descriptors,
threads, sockets) and each of its children's RSS (Locust, the guest, the reaper). At the end it reads the cloud's
event-loop tasks from the run's time series (harness_cloud_tasks, one a second).

It prints each series' first and last values and its slope (a least-squares line through the samples after the
first 5 minutes, per hour), and fails (exit 1) when the cloud's RSS grew more than 10 % after the first 5 minutes,
when its file descriptors' or sockets' peak in the last third of that time is more than 8 above their peak in the
first third (they swing by ~30 from minute to minute, as connections close and open), when its tasks grew by more
than a few, or when any process is left after the run.
"""

from __future__ import annotations

import argparse
import csv
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from scenarios.config.schema import Scenario
from scenarios.run.execute import write_scenario
from tests.helpers import changed, on_free_ports, shipped

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("cascadesim")
WARM_UP = 300.0  # seconds left out of the slopes: start-up, first caches, Locust's ramp


def soak_scenario(minutes: float, users: int) -> Scenario:
    base = shipped("cascade-live")
    replay = shipped("aws-2025-10-19")
    sts = next(s for s in replay.services if s.name == "sts")
    sts = changed(sts, nlb=changed(sts.nlb, checker_lifetime=6.0)) if sts.nlb is not None else sts
    duration = minutes * 60
    faults: list[dict[str, object]] = []
    operator: list[dict[str, object]] = []
    for start in range(60, int(duration) - 90, 300):
        faults += [
            {"kind": "planner_churn", "at": start, "duration": 25, "plan_interval": 0.25},
            {"kind": "enactor_delay", "enactor": "A", "at": start + 1, "duration": 20, "delay": 5.0},
            {"kind": "kill_node", "node": "router-2", "at": start + 150, "duration": 20},
        ]
        operator.append({"kind": "restore_dns", "at": start + 60})
    data = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    data |= {
        "name": "soak",
        "duration": duration,
        "services": [sts.model_dump(mode="json", by_alias=True, exclude_none=True)],
        "faults": faults,
        "operator": operator,
        "load": {
            "mix": {"dynamodb": 6, "ec2": 2, "lambda": 2, "sts": 2},
            "spawn_rate": 10,
            "stages": [{"until": duration, "users": users}],
        },
    }
    return on_free_ports(Scenario.model_validate(data))


def sample(cloud: psutil.Process) -> dict[str, float]:
    with cloud.oneshot():
        row = {
            "rss_mib": cloud.memory_info().rss / 2**20,
            "fds": float(cloud.num_fds()),
            "threads": float(cloud.num_threads()),
            "sockets": float(len(cloud.net_connections(kind="all"))),
        }
    for child in cloud.children(recursive=True):
        try:
            name = " ".join(child.cmdline()[1:3])[:40] or child.name()
            row[f"child {child.pid} ({name}) rss_mib"] = child.memory_info().rss / 2**20
        except psutil.Error:
            continue
    return row


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    n = len(points)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return 0.0 if var == 0 else sum((t - mean_t) * (v - mean_v) for t, v in points) / var * 3600


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between samples (default 60)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--warm-up", type=float, default=WARM_UP, help="seconds left out of the slopes (default 300)")
    args = parser.parse_args()
    warm_up = args.warm_up
    scenario = soak_scenario(args.minutes, args.users)
    work = Path(tempfile.mkdtemp(prefix="cascadesim-soak-"))
    path = work / "soak.toml"
    write_scenario(scenario, path)
    guest = [sys.executable, str(ROOT / "examples" / "getitem_every_second.py"), "--seconds", str(args.minutes * 60)]
    command = [str(CLI), "exec", str(path), "--out", str(work / "runs"), "--", *guest]
    print(f"soak: {args.minutes:g} min, {args.users} users, samples every {args.interval:g} s; {work}", flush=True)
    runner = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=(work / "exec.log").open("wb"))
    cloud = psutil.Process(runner.pid)
    started = time.monotonic()
    samples: list[tuple[float, dict[str, float]]] = []
    family: set[psutil.Process] = set()
    try:
        while runner.poll() is None:
            try:
                family |= set(cloud.children(recursive=True))
                row = sample(cloud)
            except psutil.Error:
                break
            t = time.monotonic() - started
            samples.append((t, row))
            print(
                f"{t / 60:6.1f} min  rss {row['rss_mib']:7.1f} MiB  fds {row['fds']:5.0f}  threads "
                f"{row['threads']:3.0f}  sockets {row['sockets']:5.0f}  children {len(row) - 4}",
                flush=True,
            )
            deadline = time.monotonic() + args.interval
            while runner.poll() is None and time.monotonic() < deadline:
                time.sleep(1)
    except KeyboardInterrupt:
        runner.send_signal(signal.SIGINT)
    runner.wait()
    _, alive = psutil.wait_procs(list(family), timeout=10)
    left = [f"{p.pid} {p.name()}" for p in alive if p.status() != psutil.STATUS_ZOMBIE]

    failures = []
    print(f"\n{'series':<44} {'first':>9} {'last':>9} {'slope/h':>9}  (after {warm_up / 60:g} min)")
    names = sorted({name for _, row in samples for name in row}, key=lambda n: (n.startswith("child"), n))
    for name in names:
        points = [(t, row[name]) for t, row in samples if name in row and t >= warm_up]
        if not points:
            continue
        slope = slope_per_hour(points)
        print(f"{name:<44} {points[0][1]:9.1f} {points[-1][1]:9.1f} {slope:9.2f}")
        if name == "rss_mib" and points[-1][1] > 1.10 * points[0][1]:
            failures.append(f"the cloud's RSS grew {points[-1][1] / points[0][1] - 1:.0%} after the warm-up")
        if name in ("fds", "sockets"):  # they swing by ~30 as connections close and open: compare their peaks
            third = max(1, len(points) // 3)
            early, late = max(v for _, v in points[:third]), max(v for _, v in points[-third:])
            if late - early > 8:
                failures.append(f"{name}: the peak grew from {early:.0f} (first third) to {late:.0f} (last third)")
    runs = list((work / "runs").glob("*/timeseries.csv"))
    if runs:
        with runs[0].open() as f:
            tasks = [(float(r["second"]), float(r.get("harness_cloud_tasks") or 0)) for r in csv.DictReader(f)]
        after = [(t, v) for t, v in tasks if t >= warm_up]
        if after:
            slope = slope_per_hour(after)
            first = sum(v for _, v in after[:60]) / len(after[:60])
            last = sum(v for _, v in after[-60:]) / len(after[-60:])
            print(f"{'tasks (the cloud event loop, a minute mean)':<44} {first:9.1f} {last:9.1f} {slope:9.2f}")
            if last - first > max(20.0, 0.1 * first):
                failures.append(f"tasks grew from {first:.0f} to {last:.0f} (minute means)")
    print(f"processes left after the run: {left or 'none'}; run directory: {runs[0].parent if runs else '-'}")
    failures += [f"left running: {left}"] if left else []
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
