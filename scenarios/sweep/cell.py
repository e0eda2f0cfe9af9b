"""One sweep cell as a process of its own: `python -m scenarios.sweep.cell SCENARIO.json DIRECTORY`.

What a Dask worker runs for each cell (scenarios/sweep/cluster.py): a fresh interpreter per run, as a local sweep's
cells get, so that runs never share a process's virtual-time kernel, signal handlers or memory. The scenario comes
as the JSON of a validated scenario; the run directory is written as `cascadesim run --virtual` writes it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from scenarios.config.schema import parse_scenario
from scenarios.run.execute import RunOptions, execute


def main(argv: list[str]) -> int:
    spec, directory = Path(argv[0]), Path(argv[1])
    scenario = parse_scenario(json.loads(spec.read_text(encoding="utf-8")), str(spec))
    result = execute(scenario, directory, RunOptions(virtual=True))
    return 0 if not result.problems and not result.interrupted else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
