"""Benchmark (not a test): does the verdict's horizon hold up against runs ten times longer than it needs?

Runs the shipped map's grid (scenarios/sweeps/retry-storm-map.toml: the 2x load spike lasting 2 to 14 s, four
policy sets) at LENGTH simulated seconds each (the load held to the end, `verdict_cap` at the end: no extension),
or reads such a sweep directory (--dir), and prints for every cell:

- the verdict the shipped rule gives (reports/verdict.py: recovered, stuck, undecided) and the second it decided;
- whether and when the same run recovered anywhere in its LENGTH seconds (the old rule: back to ≥ 95 % of the
  level before and held 60 s), and the worst service's level over its last 100 s.

The rule holds if no run it called stuck recovered later within LENGTH, and every run that recovered within
LENGTH is called recovered, with the same time to recover. Exit status 1 if any cell breaks that. Run:

    .venv/bin/python -m benchmarks.verdict_horizon [--length 1200] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from reports.kpis import assess
from reports.render import run_rows
from reports.verdict import RECOVERED, STUCK, Horizon, recovery
from scenarios.config.horizon import horizon_of
from scenarios.config.schema import load_scenario
from services.events import read_events

SWEEP = "scenarios/sweeps/retry-storm-map.toml"
SPIKES = "faults[0].duration=2:14:1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=1200, help="simulated seconds per run (default 1200)")
    parser.add_argument("--dir", type=Path, help="a sweep directory made by this benchmark before: read it")
    args = parser.parse_args(argv)
    root = args.dir or Path(tempfile.mkdtemp(prefix="verdict-horizon-"))
    if args.dir is None or not (root / "sweep.json").is_file():
        n = args.length
        axes = [SPIKES, f"duration={n}", f"load.stages[0].until={n}", f"verdict_cap={n}"]
        command = [str(Path(sys.executable).parent / "cascadesim"), "sweep", SWEEP, "--dir", str(root)]
        subprocess.run([*command, *(a for axis in axes for a in ("--vary", axis))], check=True)
    summary = json.loads((root / "sweep.json").read_text(encoding="utf-8"))
    broken = 0
    print(
        f"{'policy set':22} {'spike':>5}  {'verdict':10} {'decided':>8}  {'recovered within the run':>26}  last 100 s"
    )
    for cell in summary["cells"]:
        directory = root / cell["directory"]
        if not (directory / "timeseries.csv").is_file():
            print(f"{cell['policy']:22} {'?':>5}  did not run: {cell['error']}")
            broken += 1
            continue
        rows = run_rows(directory)
        events = read_events(directory / "events.jsonl")
        horizon: Horizon = horizon_of(load_scenario(directory / "scenario.toml"))
        judged = assess(rows, events, horizon)
        decision, end = judged.decision, judged.trigger_end
        eventually = None
        if end is not None and judged.levels:
            times = [recovery(judged.seconds, lv, end) for lv in judged.levels]
            eventually = None if None in times else max(t for t in times if t is not None)
        tail = min(sum(lv.share[-100:]) / 100 / lv.baseline for lv in judged.levels) if judged.levels else None
        wrong = (decision.state == STUCK and eventually is not None) or (
            eventually is not None and (decision.state != RECOVERED or decision.recovered_after != eventually)
        )
        broken += wrong
        spike = cell["values"].get("faults[0].duration")
        late = "never" if eventually is None else f"after {eventually:g} s"
        level = "–" if tail is None else f"{tail:.0%}"
        print(
            f"{cell['policy']:22} {spike:>5}  {decision.state:10} {decision.at or '–':>8}  {late:>26}  {level}"
            f"{'  <-- the rule is wrong here' if wrong else ''}  (horizon {horizon.seconds:g} s)"
        )
    print(
        f"{len(summary['cells'])} runs of {args.length} s in {root}; {broken} where the rule and the long run disagree"
    )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
