"""A sweep: one scenario run over a grid of axis values × policy sets × seeds, each cell a virtual run of its own.

    <out>/<scenario>-sweep-<stamp>/
        sweep.json     the axes, the policy sets, the repeats, and every cell: its values, policy set, seed, run
                       directory and KPIs (or the error that stopped it)
        sweep.csv      one row per cell: its values, policy set, seed and headline KPIs
        <cell>/        each cell's run directory, as `cascadesim run` writes it (report.html included)

Re-running a sweep into the same directory (`--dir`) skips the cells already done there: a finished cell leaves
`sweep-cell.json` in its run directory with its key, a hash of its whole scenario (values, policy set and seed
included) and cascadesim's version; a cell runs again only when its key is not there, or its run was interrupted.

A sweep can be kept in a file of its own (scenarios/sweeps/*.toml), so that it can be shared and run again:

    scenario = "../retry-storm.toml"          # relative to the sweep file
    vary = ["faults[0].duration=2:12:1"]
    policies = ["naive", "backoff-jitter"]    # default: the scenario's own
    repeats = 1

A cell's seed is the scenario's seed plus its repeat number, so `--repeats 3` gives each grid point three
independent runs and the map a share of stuck verdicts (with its interval) instead of a single one (Huang et al.,
OSDI'22, draw their metastability thresholds the same way).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from rich.console import Console

from scenarios.config.axes import Axis, with_values
from scenarios.config.fields import ConfigModel
from scenarios.config.problems import ScenarioError, describe, read_toml
from scenarios.config.schema import Scenario, load_scenario, parse_scenario
from scenarios.run.execute import RunOptions, RunResult
from scenarios.sweep.side_by_side import Job, run_side_by_side

# The KPIs a sweep's table carries for each cell (all of them are in each cell's kpis.json).
HEADLINE = (
    "verdict",
    "metastable",
    "decided_at_s",
    "time_to_recover_s",
    "retry_amplification",
    "wasted_share",
    "peak_dynamodb_over_baseline",
)


@dataclass(frozen=True)
class Cell:
    index: int
    values: tuple[tuple[str, Any], ...]  # (axis path, value), in the axes' order
    policy: str  # the policy set's name
    seed: int
    scenario: Scenario
    directory: str | None = None  # its run directory's name, when the caller names it (compare: the policy set)

    @property
    def key(self) -> str:
        """What makes two cells the same run: the whole scenario and cascadesim's version."""
        text = self.scenario.model_dump_json() + "\n" + _version()
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def name(self) -> str:
        """Its run directory: number, policy set, values and seed, e.g. `007-naive-faults0.duration=6-s42`."""
        if self.directory is not None:
            return self.directory
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
                cells.append(cell_for(base, origin, dict(zip(axes, point, strict=True)), policy, repeat, len(cells)))
    return cells


def cell_for(base: Scenario, origin: str, setting: dict[Axis, Any], policy: str, repeat: int, index: int) -> Cell:
    """The cell at `setting` under `policy`, on the scenario's seed + `repeat`, validated whole."""
    scenario = _policy_and_seed(with_values(base, origin, setting), origin, policy, base.seed + repeat)
    values = tuple((a.path, v) for a, v in setting.items())
    return Cell(index, values, Path(scenario.policy).stem, scenario.seed, scenario)


def _policy_and_seed(scenario: Scenario, origin: str, policy: str, seed: int) -> Scenario:
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["policy"], data["seed"] = policy, seed
    return parse_scenario(data, origin)


@dataclass
class CellResult:
    cell: Cell
    directory: Path
    kpis: dict[str, Any] | None  # None when the run did not finish cleanly
    error: str | None = None
    run: RunResult | None = None  # the run's own result, when it ran here (an interrupted one keeps its KPIs)


def outcome(cell: Cell, directory: Path, result: RunResult | None, error: str | None = None) -> CellResult:
    if result is None:
        return CellResult(cell, directory, None, error or "did not run")
    problem = "; ".join(result.problems) or ("interrupted" if result.interrupted else None)
    return CellResult(cell, directory, result.kpis if problem is None else None, problem, result)


def write(
    root: Path,
    base: Scenario,
    axes: list[Axis],
    policies: list[str],
    repeats: int,
    results: list[CellResult],
    thresholds: list[dict[str, Any]] | None = None,
) -> None:
    """sweep.json and sweep.csv (see the module docstring); a threshold search adds what it found."""
    document: dict[str, Any] = {
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
    if thresholds is not None:
        document["thresholds"] = thresholds
    # Keys sorted: the same sweep gives the same file, whether its cells ran here or came back from a cluster.
    (root / "sweep.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
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


def run_sweep(
    cells: list[Cell], root: Path, console: Console, jobs: int, scheduler: str | None = None
) -> list[CellResult]:
    """Every cell not done yet as a virtual run under `root`, `jobs` at a time; after Ctrl-C, the cells not
    started say so."""
    from reports.render import share_plotly

    share_plotly(root)  # one copy of Plotly for every cell's report (reports/render.py), not one each
    done = {c.index: kept for c in cells if (kept := _done(c, root)) is not None}
    if done:
        console.print(f"{len(done)} of {len(cells)} cells already done in {root}: skipped", highlight=False)
    todo = [c for c in cells if c.index not in done]
    results = {c.index: done[c.index] for c in cells if c.index in done}

    def finished(i: int, run: RunResult | None, error: str | None = None) -> None:
        """As each cell ends (so that an interrupted sweep keeps what finished): its result, and its cache entry."""
        cell = todo[i]
        results[cell.index] = result = outcome(cell, root / cell.name, run, error)
        if result.error is None:
            (result.directory / CELL_FILE).write_text(json.dumps({"key": cell.key, "kpis": result.kpis}) + "\n")

    def came_back(i: int, directory: Path, error: str | None) -> None:  # from a Dask worker, its files written here
        if error is not None:
            finished(i, None, error)
            return
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        kpis = json.loads((directory / "kpis.json").read_text(encoding="utf-8"))["kpis"]
        problems = list(meta.get("problems") or [])
        finished(i, RunResult(directory, kpis, interrupted=bool(meta.get("interrupted")), problems=problems))

    if scheduler is not None:
        from scenarios.sweep.cluster import run_on_dask

        run_on_dask(todo, root, scheduler, console, came_back)
    else:
        options = RunOptions(virtual=True)
        run_side_by_side([Job(c.scenario, root / c.name, options, c.name) for c in todo], console, jobs, finished)
    return [results.get(c.index) or outcome(c, root / c.name, None, "not started") for c in cells]


CELL_FILE = "sweep-cell.json"


def _done(cell: Cell, root: Path) -> CellResult | None:
    """The cell's earlier result in `root`, if it finished there with the same key."""
    try:
        kept = json.loads((root / cell.name / CELL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("key") != cell.key or not isinstance(kept.get("kpis"), dict):
        return None
    return CellResult(cell, root / cell.name, kept["kpis"])


def _version() -> str:
    try:
        return metadata.version("cascadesim")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Sweep:
    """A planned sweep: the base scenario, its axes, policy sets and repeats, and every cell."""

    base: Scenario
    origin: str  # the scenario file, for messages
    axes: tuple[Axis, ...]
    policies: tuple[str, ...]  # the policy sets' names
    arguments: tuple[str, ...]  # the policy sets as given (names or files)
    repeats: int
    cells: tuple[Cell, ...]

    @classmethod
    def plan(cls, base: Scenario, origin: str, vary: list[str], policies: list[str], repeats: int) -> Sweep:
        """Parse the axes and check every cell; raises ScenarioError naming the axis at fault."""
        axes = [Axis.parse(text) for text in vary]
        cells = plan(base, origin, axes, policies, repeats)
        names = tuple(dict.fromkeys(c.policy for c in cells))
        return cls(base, origin, tuple(axes), names, tuple(policies or [base.policy]), repeats, tuple(cells))

    @classmethod
    def from_arguments(
        cls, path: Path, vary: list[str], policies: list[str], repeats: int | None, *, searching: bool = False
    ) -> Sweep:
        """`cascadesim sweep`'s arguments: a scenario with --vary, or a sweep file whose settings the command
        line's options replace. Raises ScenarioError (one line: the file, the field or axis, the problem)."""
        data = read_toml(path)
        if is_sweep_file(data):
            kept, path = load_sweep_file(path, data)
            vary, policies = vary or list(kept.vary), policies or list(kept.policies)
            repeats = repeats if repeats is not None else kept.repeats
        if not vary and not searching:
            raise ScenarioError(f"{path}: a sweep needs at least one --vary PATH=VALUES (or --find-threshold)")
        return cls.plan(load_scenario(path), str(path), vary, policies, repeats or 1)

    def run(
        self, root: Path, console: Console, jobs: int, scheduler: str | None = None
    ) -> tuple[Path, list[CellResult]]:
        """Run the cells not done yet into `root`, write sweep.json, sweep.csv and map.html; the map's path."""
        from reports.sweep_map import render_map

        root.mkdir(parents=True, exist_ok=True)
        console.print(f"{len(self.cells)} cells into {root}", highlight=False)
        results = run_sweep(list(self.cells), root, console, jobs, scheduler)
        write(root, self.base, list(self.axes), list(self.policies), self.repeats, results)
        return render_map(root), results


class SweepFile(ConfigModel):
    """A sweep kept in a file (see the module docstring)."""

    scenario: str
    vary: tuple[str, ...] = Field(min_length=1)
    policies: tuple[str, ...] = ()
    repeats: int = Field(default=1, ge=1)


def is_sweep_file(data: dict[str, Any]) -> bool:
    return "vary" in data and "name" not in data


def load_sweep_file(path: Path, data: dict[str, Any]) -> tuple[SweepFile, Path]:
    """The sweep file's settings and its scenario's path; raises ScenarioError naming the file and the field."""
    try:
        loaded = SweepFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {describe(exc)}") from None
    return loaded, (path.parent / loaded.scenario)
