"""A sweep: one scenario run over a grid of axis values × policy sets × seeds, each cell a virtual run of its own.

    <out>/<scenario>-sweep-<stamp>/
        sweep.json     the axes, the policy sets, the repeats, and every cell: its values, policy set, seed, run
                       directory and KPIs (or the error that stopped it)
        sweep.csv      one row per cell: its values, policy set, seed and headline KPIs
        <cell>/        each cell's run directory, as `cascadesim run` writes it (report.html included)

A cell's seed is the scenario's seed plus its repeat number, so `--repeats 3` gives each grid point three
independent runs and the map a share of metastable outcomes instead of a single yes or no (Huang et al., OSDI'22,
draw their metastability thresholds the same way).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from scenarios.axes import Axis, with_values
from scenarios.execute import RunOptions, RunResult
from scenarios.problems import ScenarioError
from scenarios.schema import Scenario, parse_scenario
from scenarios.side_by_side import Job, run_side_by_side

# The KPIs a sweep's table carries for each cell (all of them are in each cell's kpis.json).
HEADLINE = ("metastable", "time_to_recover_s", "retry_amplification", "wasted_share", "peak_dynamodb_over_baseline")


@dataclass(frozen=True)
class Cell:
    index: int
    values: tuple[tuple[str, Any], ...]  # (axis path, value), in the axes' order
    policy: str  # the policy set's name
    seed: int
    scenario: Scenario

    @property
    def name(self) -> str:
        """Its run directory: number, policy set, values and seed, e.g. `007-naive-faults0.duration=6-s42`."""
        shown = ",".join(f"{path.replace('[', '').replace(']', '')}={value}" for path, value in self.values)
        return re.sub(r"[^A-Za-z0-9_.,=+-]", "_", f"{self.index:03d}-{self.policy}-{shown}-s{self.seed}")


def plan(base: Scenario, origin: str, axes: list[Axis], policies: list[str], repeats: int = 1) -> list[Cell]:
    """Every cell, validated before any runs; raises ScenarioError (naming the axis) at the first bad one."""
    if repeats < 1:
        raise ScenarioError(f"--repeats {repeats}: must be at least 1")
    paths = [a.path for a in axes]
    if len(set(paths)) != len(paths):
        raise ScenarioError(
            f"--vary: an axis is given twice ({', '.join(sorted({p for p in paths if paths.count(p) > 1}))})"
        )
    cells: list[Cell] = []
    for policy in policies or [base.policy]:
        for point in itertools.product(*(axis.values for axis in axes)):
            for repeat in range(repeats):
                setting: dict[Axis, Any] = dict(zip(axes, point, strict=True))
                scenario = with_values(base, origin, setting)
                scenario = _policy_and_seed(scenario, origin, policy, base.seed + repeat)
                name = Path(scenario.policy).stem
                values = tuple((a.path, v) for a, v in setting.items())
                cells.append(Cell(len(cells), values, name, scenario.seed, scenario))
    return cells


def _policy_and_seed(scenario: Scenario, origin: str, policy: str, seed: int) -> Scenario:
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["policy"], data["seed"] = policy, seed
    return parse_scenario(data, origin)


@dataclass
class CellResult:
    cell: Cell
    directory: Path
    kpis: dict[str, Any] | None
    error: str | None = None


def outcome(cell: Cell, directory: Path, result: RunResult | None, error: str | None = None) -> CellResult:
    if result is None:
        return CellResult(cell, directory, None, error or "did not run")
    problem = "; ".join(result.problems) or ("interrupted" if result.interrupted else None)
    return CellResult(cell, directory, result.kpis if problem is None else None, problem)


def write(
    root: Path, base: Scenario, axes: list[Axis], policies: list[str], repeats: int, results: list[CellResult]
) -> None:
    """sweep.json and sweep.csv (see the module docstring)."""
    document = {
        "scenario": base.name,
        "axes": [{"path": a.path, "values": list(a.values)} for a in axes],
        "policies": policies,
        "repeats": repeats,
        "cells": [
            {
                "index": r.cell.index,
                "directory": r.directory.name,
                "policy": r.cell.policy,
                "seed": r.cell.seed,
                "values": dict(r.cell.values),
                "kpis": r.kpis,
                "error": r.error,
            }
            for r in results
        ],
    }
    (root / "sweep.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["cell", "directory", "policy", "seed", *(a.path for a in axes), *HEADLINE, "error"])
    for r in results:
        kpis = r.kpis or {}
        writer.writerow(
            [
                r.cell.index,
                r.directory.name,
                r.cell.policy,
                r.cell.seed,
                *(v for _, v in r.cell.values),
                *("" if kpis.get(k) is None else kpis[k] for k in HEADLINE),
                r.error or "",
            ]
        )
    (root / "sweep.csv").write_text(out.getvalue(), encoding="utf-8")


def run_sweep(cells: list[Cell], root: Path, console: Console, jobs: int) -> list[CellResult]:
    """Every cell as a virtual run under `root`, `jobs` at a time; after Ctrl-C, the cells not started say so."""
    options = RunOptions(virtual=True)
    work = [Job(c.scenario, root / c.name, options, c.name) for c in cells]
    ran = run_side_by_side(work, console, jobs)
    return [
        outcome(cell, root / cell.name, ran[i] if i < len(ran) else None, None if i < len(ran) else "not started")
        for i, cell in enumerate(cells)
    ]
