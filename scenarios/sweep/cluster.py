"""Sweeps on an existing Dask distributed cluster: `cascadesim sweep ... --scheduler tcp://HOST:PORT`.

Each cell not done yet is submitted as a task. A worker runs it in a fresh interpreter (scenarios/sweep/cell.py) inside
a temporary directory and sends the run directory's files back, so workers need no file system shared with the
sweep; the results stream back as they finish, and each finished cell is written into the sweep directory at once
(with its cache entry, as a local sweep does). A cell that fails is recorded with its error and the sweep goes on;
Ctrl-C cancels what is pending and keeps what finished.

Dask is an optional extra: `pip install -e '.[cluster]'`. Start a scheduler and workers with Dask's own commands,
e.g. `dask scheduler` and, on each machine, `dask worker tcp://HOST:8786 --nthreads 1`.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.progress import Progress

from scenarios.config.problems import ScenarioError

CELL_TIMEOUT = 6 * 3600  # seconds: a cell that takes longer than a full-length replay many times over has hung


def run_cell(scenario: dict[str, Any], name: str) -> dict[str, bytes]:
    """On a worker: run one cell in a process of its own; its run directory's files (and the process's stderr
    under `error`, if it failed)."""
    with tempfile.TemporaryDirectory(prefix="cascadesim-cell-") as tmp:
        spec, directory = Path(tmp) / "scenario.json", Path(tmp) / name
        spec.write_text(json.dumps(scenario), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "scenarios.sweep.cell", str(spec), str(directory)],
            capture_output=True,
            timeout=CELL_TIMEOUT,
            check=False,
        )
        files = {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}
        if done.returncode != 0 and "kpis.json" not in files:
            files["error"] = done.stderr[-2000:] or f"exit status {done.returncode}".encode()
        return files


def run_on_dask(
    cells: list[Any], root: Path, scheduler: str, console: Console, finished: Callable[[int, Path, str | None], None]
) -> None:
    """Run `cells` (scenarios.sweep.grid.Cell) on the cluster at `scheduler`; `finished(i, directory, error)` hears
    each as it comes back, its files already written under `root`."""
    try:
        from distributed import Client
    except ImportError:
        raise ScenarioError(
            f"--scheduler {scheduler}: Dask is not installed; install the extra: pip install -e '.[cluster]'"
        ) from None
    try:
        client = Client(scheduler, timeout=30)  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise ScenarioError(f"--scheduler {scheduler}: cannot reach the Dask scheduler: {exc}") from None

    def stop(signum: int, frame: FrameType | None) -> None:  # SIGTERM too; and SIGINT even where it was ignored
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        _gather(client, cells, root, scheduler, console, finished)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _gather(
    client: Any,
    cells: list[Any],
    root: Path,
    scheduler: str,
    console: Console,
    finished: Callable[[int, Path, str | None], None],
) -> None:
    from distributed import as_completed

    with client, Progress(console=console, transient=False) as progress:
        bar = progress.add_task(f"{len(cells)} cells on {scheduler}", total=len(cells))
        futures = {
            client.submit(
                run_cell,
                cell.scenario.model_dump(mode="json", by_alias=True, exclude_none=True),
                cell.name,
                key=f"cascadesim-{cell.key[:16]}-{cell.index}",
                pure=False,
            ): i
            for i, cell in enumerate(cells)
        }
        try:
            for future in as_completed(list(futures)):  # type: ignore[no-untyped-call]
                i = futures[future]
                directory = root / cells[i].name
                try:
                    files = future.result()
                except Exception as exc:  # the task itself failed on the worker: record it, go on
                    finished(i, directory, f"{type(exc).__name__}: {exc}")
                    progress.advance(bar)
                    continue
                error = files.pop("error", None)
                for name, content in files.items():
                    (directory / name).parent.mkdir(parents=True, exist_ok=True)
                    (directory / name).write_bytes(content)
                finished(i, directory, error.decode(errors="replace").strip().splitlines()[-1] if error else None)
                progress.advance(bar)
        except KeyboardInterrupt:
            client.cancel(list(futures))
            console.print("interrupted: pending cells cancelled; the finished ones are kept", style="yellow")
