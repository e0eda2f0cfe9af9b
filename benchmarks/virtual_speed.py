"""Benchmark (not a test): how fast virtual time runs, and how much memory it takes.

Runs a scenario (default: the full-length aws-2025-10-19 replay) with `--virtual` semantics and prints the
simulated seconds, the simulated requests (every request any node's capacity model saw, clients' and internal),
the wall time, simulated requests per wall second (target: at least 10,000) and the peak resident memory of
this process (target: under 1 GiB). Run:

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python -m benchmarks.virtual_speed [--seconds N]
"""

from __future__ import annotations

import argparse
import csv
import resource
import tempfile
import time
from pathlib import Path

from scenarios.config.schema import load_scenario
from scenarios.run.execute import RunOptions, execute


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/aws-2025-10-19.toml")
    parser.add_argument("--seconds", type=float, default=None, help="simulate only this long")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    if args.seconds is not None:
        scenario = scenario.model_copy(update={"duration": args.seconds})
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = execute(scenario, Path(tmp) / "run", RunOptions(virtual=True))
        wall = time.perf_counter() - started
        with (result.directory / "timeseries.csv").open() as f:
            rows = list(csv.DictReader(f))
    requests = sum(int(row[key]) for row in rows for key in row if key.endswith("_arrivals"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"scenario            {scenario.name}")
    print(f"simulated           {len(rows):,} s ({len(rows) / 3600:.1f} h)")
    print(f"simulated requests  {requests:,}")
    print(f"wall time           {wall:.1f} s")
    print(f"requests / wall s   {requests / wall:,.0f}   (target: at least 10,000)")
    print(f"simulated s / wall  {len(rows) / wall:,.0f}")
    print(f"peak memory         {peak:,.0f} MiB   (target: under 1,024)")


if __name__ == "__main__":
    main()
