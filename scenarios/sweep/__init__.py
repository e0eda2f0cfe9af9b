"""Many runs of one scenario: grids of axis values × policy sets × seeds, threshold searches, comparisons of policy
sets and what-if variants; side by side on this machine's cores or on a Dask cluster.

    grid           a grid of cells, its cache and sweep.json
    threshold      where along one axis each policy set tips, by bisection
    compare        `cascadesim compare`: policy sets or what-if variants side by side
    side_by_side   virtual runs one process per core
    cluster, cell  cells on a Dask cluster, each a fresh interpreter

`run_command`, here, is the `cascadesim sweep` command: a grid, or a threshold search over one.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from scenarios.sweep.grid import CellResult, Sweep
from scenarios.sweep.threshold import Search, search_sweep

__all__ = ["run_command"]


def run_command(
    path: Path,
    vary: list[str],
    policies: list[str],
    repeats: int | None,
    find_threshold: str | None,
    out: Path,
    into: Path | None,
    jobs: int,
    scheduler: str | None,
    console: Console,
) -> tuple[Path, list[CellResult]]:
    """`cascadesim sweep`: a grid, or a threshold search; the sweep directory and every cell's result. Raises
    ScenarioError (one line) for a bad argument, before anything runs."""
    from scenarios.run.execute import stamp_now

    search = Search.parse(find_threshold) if find_threshold else None
    planned = Sweep.from_arguments(path, vary, policies, repeats, searching=search is not None)
    root = into if into is not None else out / f"{planned.base.name}-sweep-{stamp_now()}"
    if search is None:
        page, results = planned.run(root, console, jobs, scheduler)
    else:
        page, results = search_sweep(planned, search, root, console, jobs, scheduler)
    failed = [r for r in results if r.error is not None]
    console.print(
        f"sweep: {page} (data: {root / 'sweep.csv'}; {len(results) - len(failed)} cells done, {len(failed)} not)",
        highlight=False,
    )
    return root, results
