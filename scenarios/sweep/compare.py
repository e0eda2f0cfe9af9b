"""`cascadesim compare`: a scenario run once per policy set, or a what-if file once per variant, side by side in
virtual time (or on Dask) or live one after another; then comparison.json, comparison.html and the console's
tables. Also how any live or virtual run is executed with its progress bar (`run` uses it too)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reports.kpis import DEFINITIONS
from scenarios.config.schema import Scenario
from scenarios.config.what_if import WhatIf
from scenarios.run.arguments import console, live_or_exit, with_overrides
from scenarios.run.console import customer_table, kpi_table
from scenarios.run.execute import RunOptions, RunResult, execute, stamp_now
from scenarios.run.progress import RunProgress
from scenarios.sweep.grid import Cell

if TYPE_CHECKING:
    from scenarios.run.operator_console import OperatorConsole


def _label(scenario: Scenario, options: RunOptions) -> str:
    return f"{scenario.name} · {Path(scenario.policy).stem} · {'virtual' if options.virtual else 'live'}"


def execute_with_progress(
    scenario: Scenario, directory: Path, options: RunOptions, page: OperatorConsole | None = None
) -> RunResult:
    """One run with a progress bar (and, live, the operator's console `page` beside it)."""
    with RunProgress(console, _label(scenario, options), scenario.duration) as progress:
        return execute(scenario, directory, options, on_second=progress.second, sinks=(progress,), console=page)


def compare_policies(
    base: Scenario,
    scenario: Path,
    policy: list[str],
    seed: int | None,
    virtual: bool,
    into: Path | None,
    out: Path,
    locust_workers: int,
    jobs: int,
    scheduler: str | None,
) -> list[RunResult]:
    """The scenario once per policy set, every one checked before the first runs; the runs' results."""
    variants = [
        with_overrides(base, scenario, name, seed) for name in policy
    ]  # every one checked before the first runs
    variants = variants if virtual else [live_or_exit(v, scenario) for v in variants]
    root = into or out / f"{base.name}-compare-{stamp_now()}"
    names = [Path(v.policy).stem for v in variants]
    if virtual:  # a comparison is a sweep whose one axis is the policy set
        from scenarios.sweep.grid import Sweep

        planned = Sweep.plan(with_overrides(base, scenario, None, seed), str(scenario), [], policy, 1)
        cells = [dataclasses.replace(c, directory=c.policy) for c in planned.cells]  # runs named by policy set
        results = virtual_cells(cells, root, jobs, scheduler)
    else:
        results = live_runs(variants, names, root, RunOptions(virtual=False, locust_workers=locust_workers))
    rows = [(name, r.kpis) for name, r in zip(names, results, strict=False)]
    write_comparison(root, base.name, virtual, rows, results, {})
    from reports.comparison import render_comparison

    page = render_comparison(root)
    console.print(kpi_table(rows, title=f"{base.name}: policies compared"))
    console.print(f"comparison: {page} (data: {root / 'comparison.json'})", highlight=False)
    return results


def virtual_cells(cells: list[Cell], root: Path, jobs: int, scheduler: str | None) -> list[RunResult]:
    """The cells' runs, side by side (or on Dask); the results of those that ran or were done already."""
    from scenarios.sweep.grid import run_sweep

    results: list[RunResult] = []
    for cell in run_sweep(cells, root, console, jobs, scheduler):
        if cell.run is not None:  # None: skipped as done already (its KPIs kept), or never started
            results.append(cell.run)
        elif cell.kpis is not None:
            results.append(RunResult(cell.directory, cell.kpis))
    return results


def live_runs(scenarios: list[Scenario], names: list[str], root: Path, options: RunOptions) -> list[RunResult]:
    """Live runs share the machine's ports and cores: one after another, until one is interrupted."""
    from reports.render import share_plotly

    share_plotly(root)  # one copy of Plotly for every run's report (reports/render.py), not one each
    results: list[RunResult] = []
    for variant, name in zip(scenarios, names, strict=True):
        results.append(execute_with_progress(variant, root / name, options))
        if results[-1].interrupted:
            break
    return results


def write_comparison(
    root: Path,
    scenario: str,
    virtual: bool,
    rows: list[tuple[str, dict[str, Any]]],
    results: list[RunResult],
    extra: dict[str, Any],
) -> None:
    root.mkdir(parents=True, exist_ok=True)
    document = {
        "scenario": scenario,
        "mode": "virtual" if virtual else "live",
        **extra,
        "runs": [
            {"policy": name, "directory": r.directory.name, "kpis": k}
            for (name, k), r in zip(rows, results, strict=True)
        ],
        "definitions": DEFINITIONS,
    }
    (root / "comparison.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def compare_what_if(
    what_if: WhatIf, virtual: bool, root: Path, locust_workers: int, jobs: int, scheduler: str | None
) -> list[RunResult]:
    """Every variant of a what-if file, side by side (virtual) or one after another (live): a customer's view of
    each beside the baseline's, in the console, comparison.json and comparison.html."""
    from reports.comparison import render_comparison
    from reports.customers import variant_entry

    base = what_if.base
    names = [v.name for v in what_if.variants]
    scenarios = [v.scenario for v in what_if.variants]
    if not virtual:
        scenarios = [live_or_exit(s, what_if.path) for s in scenarios]
    console.print(
        f"{what_if.path}: {len(names)} variants of {base.name} ({', '.join(names)}), "
        + ("side by side in virtual time" if virtual else "live, one after another"),
        highlight=False,
    )
    if virtual:
        cells = [
            Cell(i, (), Path(s.policy).stem, s.seed, s, directory=name)
            for i, (s, name) in enumerate(zip(scenarios, names, strict=True))
        ]
        results = virtual_cells(cells, root, jobs, scheduler)
    else:
        results = live_runs(scenarios, names, root, RunOptions(virtual=False, locust_workers=locust_workers))
    entries: list[dict[str, Any]] = []
    baseline_view: dict[str, Any] | None = None
    for variant, result in zip(what_if.variants, results, strict=False):
        entry = variant_entry(
            variant.name, variant.sentence, variant.settings, result.directory, result.kpis, baseline_view
        )
        if baseline_view is None:
            baseline_view = entry["customers"]
        entries.append(entry)
    rows = [(name, r.kpis) for name, r in zip(names, results, strict=False)]
    extra = {
        "what_if": str(what_if.path),
        "question": what_if.question,
        "baseline": what_if.baseline.name,
        "variants": entries,
    }
    write_comparison(root, base.name, virtual, rows, results, extra)
    page = render_comparison(root)
    if entries:
        console.print(customer_table(entries, what_if.baseline.name))
    for entry in entries[1:]:
        for line in entry["differences"]:
            console.print(f"{entry['name']}: {line}", highlight=False, markup=False)
    console.print(kpi_table(rows, title=f"{base.name}: variants compared"))
    console.print(f"comparison: {page} (data: {root / 'comparison.json'})", highlight=False)
    return results
