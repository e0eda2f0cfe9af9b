"""Benchmark (not a test): the whole replay command, here against another commit, back to back on this machine.

Runs `cascadesim run SCENARIO --virtual` (default: the full aws-2025-10-19 replay) as a user runs it, each in a
process of its own, one after the other: the other commit (default 8c385ca, before the speed work of issue 28) from
a git worktree of its own (removed afterwards), this checkout with its compiled build if one is built and current
(CASCADESIM_COMPILED=1: setup.py, services/native.py), and with --pure this checkout's Python source too. For
each it prints the wall time and the process's peak resident memory, then each side's speed-up over the other
commit (its wall time over ours). This machine's speed moves 2-3x from hour to hour: only the ratios measured in
one invocation count.

    python -m benchmarks.replay_speed [--against REF] [--pure] [--repeat N] [--scenario PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = "from scenarios.cli import main; main()"  # the command as the entry point runs it, in the checkout given
REFERENCE = "8c385ca"


def timed_run(checkout: Path, scenario: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one virtual run of `scenario` in `checkout`."""
    with tempfile.TemporaryDirectory(prefix="replay-speed-") as out:
        command = [sys.executable, "-c", RUN, "run", scenario, "--virtual", "--out", out]
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=checkout, env={**env, "PYTHONPATH": str(checkout)}, stdout=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            sys.exit(f"the run in {checkout} failed (exit {process.returncode})")
    return wall, usage.ru_maxrss / 1024  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default=REFERENCE, help=f"the commit to compare with (default {REFERENCE})")
    parser.add_argument("--scenario", default="scenarios/aws-2025-10-19.toml")
    parser.add_argument("--pure", action="store_true", help="also this checkout's Python source")
    parser.add_argument("--repeat", type=int, default=1, help="rounds, each side once per round (medians shown)")
    args = parser.parse_args()
    from services.native import group_library, stale

    library = group_library()
    build = "compiled" if library is not None and not stale(library) else "Python source"
    base = {key: value for key, value in os.environ.items() if key != "CASCADESIM_COMPILED"}
    here = {**base, "CASCADESIM_COMPILED": "1"} if build == "compiled" else base
    with tempfile.TemporaryDirectory(prefix="replay-speed-worktree-") as temp:
        other = Path(temp) / "other"
        subprocess.run(
            ["git", "worktree", "add", "--quiet", "--detach", str(other), args.against], cwd=ROOT, check=True
        )
        sides: list[tuple[str, Path, dict[str, str]]] = [
            (args.against, other, base),
            (f"here ({build})", ROOT, here),
        ]
        if args.pure and build == "compiled":
            sides.append(("here (Python source)", ROOT, base))
        walls: dict[str, list[float]] = {name: [] for name, _, _ in sides}
        peaks: dict[str, list[float]] = {name: [] for name, _, _ in sides}
        try:
            for round_ in range(1, args.repeat + 1):
                for name, checkout, env in sides:
                    wall, peak = timed_run(checkout, args.scenario, env)
                    walls[name].append(wall)
                    peaks[name].append(peak)
                    print(f"round {round_}: {name:<24} {wall:8.1f} s  {peak:7.0f} MiB", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=False)
    reference = statistics.median(walls[args.against])
    print(f"\n{args.scenario} --virtual, median of {args.repeat}:")
    print(f"{'side':<26}{'wall s':>10}{'peak MiB':>10}{'speed-up':>10}")
    for name, _, _ in sides:
        wall = statistics.median(walls[name])
        print(f"{name:<26}{wall:>10.1f}{max(peaks[name]):>10.0f}{reference / wall:>9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
