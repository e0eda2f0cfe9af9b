"""Threshold search: where along one axis each policy set tips into a metastable state, found by bisection.

    cascadesim sweep scenarios/retry-storm.toml --find-threshold 'faults[0].duration=1:30:0.5' -p naive -p retry-budget

For every policy set (and, with --vary axes beside it, every point of those), the search runs the two ends of the
range first: if the low end already tips, or the high end still recovers, there is nothing to bisect. Otherwise it
keeps a bracket, the largest value seen to recover and the smallest seen to tip, and runs its midpoint until the
bracket is no wider than the resolution. At 0.5 s over 1..30 s that is 2 + 6 runs against the grid's 59. Each probe
is a cell like a grid's (its own run directory, report and cache entry), every probe is listed in sweep.json, and
the series of one round run side by side. A probe tips when its verdict is stuck and recovers when it is recovered
(reports/verdict.py: each run goes on past its written end until that is decided); with --repeats, it tips when at
least half its decided runs are stuck. A probe whose runs are all undecided at their cap ends its series there.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from scenarios.config.axes import Axis, steps
from scenarios.config.problems import ScenarioError
from scenarios.config.schema import Scenario
from scenarios.sweep.grid import Cell, CellResult, Sweep, cell_for, run_sweep, write

TIPPED = 0.5  # the share of a probe's decided runs that must be stuck for it to count as tipped


@dataclass(frozen=True)
class Search:
    axis: Axis  # its path; its values are filled in with the probes made
    low: float
    high: float
    resolution: float

    @classmethod
    def parse(cls, text: str) -> Search:
        """`PATH=LOW:HIGH[:RESOLUTION]` (default resolution: a sixty-fourth of the range)."""
        path, sep, spec = text.partition("=")
        path = path.strip()
        where = f"--find-threshold {text}"
        if not sep or not path:
            raise ScenarioError(f"{where}: expected PATH=LOW:HIGH[:RESOLUTION], e.g. faults[0].duration=1:30:0.5")
        steps(path, text)
        try:
            numbers = [float(part) for part in spec.split(":")]
        except ValueError:
            raise ScenarioError(f"{where}: LOW, HIGH and RESOLUTION must be numbers") from None
        if len(numbers) not in (2, 3) or not all(math.isfinite(n) for n in numbers):
            raise ScenarioError(f"{where}: expected LOW:HIGH or LOW:HIGH:RESOLUTION")
        low, high = numbers[0], numbers[1]
        if not high > low:
            raise ScenarioError(f"{where}: the range is empty (HIGH must be above LOW)")
        resolution = numbers[2] if len(numbers) == 3 else (high - low) / 64
        if not resolution > 0:
            raise ScenarioError(f"{where}: the resolution must be greater than 0")
        return cls(Axis(path, (), text), low, high, resolution)


@dataclass
class Series:
    """One policy set at one point of the other axes: its bracket and how the search ended."""

    policy: str
    point: tuple[tuple[Axis, Any], ...]
    recovers: float | None = None  # the largest value seen to recover
    tips: float | None = None  # the smallest value seen to tip
    runs: int = 0
    done: bool = False
    probes: list[float] = field(default_factory=list)
    undecided: float | None = None  # the value whose runs were all undecided, if the search stopped at one

    def next_values(self, search: Search) -> list[float]:
        if self.done:
            return []
        if not self.probes:
            return [search.low, search.high]
        if self.recovers is None or self.tips is None or self.tips - self.recovers <= search.resolution:
            self.done = True  # tips at the low end, never tips, or bracketed to the resolution
            return []
        return [_clean(self.recovers + (self.tips - self.recovers) / 2)]

    def summary(self, search: Search) -> dict[str, Any]:
        if self.undecided is not None:
            verdict = f"undecided at {self.undecided:g} (its runs reached their verdict_cap: raise it)"
        elif self.tips is None:
            verdict = f"does not tip up to {search.high:g}"
        elif self.recovers is None:
            verdict = f"tips already at {search.low:g}"
        else:
            verdict = f"tips between {self.recovers:g} (recovers) and {self.tips:g} (stuck)"
        return {
            "policy": self.policy,
            "values": {axis.path: value for axis, value in self.point},
            "recovers_at": self.recovers,
            "tips_at": self.tips,
            "runs": self.runs,
            "verdict": verdict,
            "undecided_at": self.undecided,
        }


def find_thresholds(
    base: Scenario,
    origin: str,
    search: Search,
    axes: list[Axis],
    policies: list[str],
    repeats: int,
    root: Path,
    console: Console,
    jobs: int,
    scheduler: str | None = None,
) -> tuple[list[CellResult], list[Series]]:
    """Bisect every series, one round of probes at a time (the series of a round side by side)."""
    series = [
        Series(policy, tuple(zip(axes, point, strict=True)))
        for policy in policies or [base.policy]
        for point in itertools.product(*(axis.values for axis in axes))
    ]
    results: list[CellResult] = []
    while True:
        round_cells: list[tuple[Series, float, Cell]] = []
        for one in series:
            for value in one.next_values(search):
                setting = {search.axis: value, **dict(one.point)}
                for repeat in range(repeats):
                    cell = cell_for(base, origin, setting, one.policy, repeat, len(results) + len(round_cells))
                    round_cells.append((one, value, cell))
        if not round_cells:
            return results, series
        ran = run_sweep([cell for _, _, cell in round_cells], root, console, jobs, scheduler)
        results.extend(ran)
        if any(r.error is not None for r in ran):  # interrupted, or a cell failed: stop where it is
            return results, series
        by_probe: dict[tuple[int, float], list[bool | None]] = {}
        for (one, value, _), result in zip(round_cells, ran, strict=True):
            by_probe.setdefault((id(one), value), []).append((result.kpis or {}).get("metastable"))
        for one in series:
            for value in sorted({v for s, v, _ in round_cells if s is one}):
                outcomes = by_probe[(id(one), value)]
                one.runs += len(outcomes)
                one.probes.append(value)
                decided = [o for o in outcomes if o is not None]  # stuck (True) or recovered (False)
                if not decided:
                    one.undecided, one.done = value, True
                    continue
                if sum(decided) / len(decided) >= TIPPED:
                    one.tips = value if one.tips is None else min(one.tips, value)
                else:
                    one.recovers = value if one.recovers is None else max(one.recovers, value)
            if one.recovers is not None and one.tips is not None and one.recovers > one.tips:
                one.done = True  # not monotonic along the axis: the bracket no longer means anything


def _clean(value: float) -> float:
    return round(value, 9)


def search_sweep(
    planned: Sweep, search: Search, root: Path, console: Console, jobs: int, scheduler: str | None = None
) -> tuple[Path, list[CellResult]]:
    """Search `planned`'s policy sets (and points of its axes) along `search`; write sweep.json (with the
    thresholds), sweep.csv and map.html into `root`; the map's path and every run made."""
    from reports.sweep_map import render_map

    if search.axis.path in {a.path for a in planned.axes}:
        raise ScenarioError(f"--find-threshold {search.axis.text}: {search.axis.path} is also a --vary axis")
    root.mkdir(parents=True, exist_ok=True)
    base, axes = planned.base, list(planned.axes)
    results, series = find_thresholds(
        base, planned.origin, search, axes, list(planned.arguments), planned.repeats, root, console, jobs, scheduler
    )
    probed = Axis(search.axis.path, tuple(sorted({float(r.cell.values[0][1]) for r in results})), search.axis.text)
    found = [one.summary(search) for one in series]
    for one in found:
        shown = ", ".join(f"{k}={v}" for k, v in one["values"].items())
        console.print(f"{one['policy']}{' at ' + shown if shown else ''}: {one['verdict']} ({one['runs']} runs)")
    write(root, base, [probed, *axes], list(planned.policies), planned.repeats, results, found)
    return render_map(root), results
