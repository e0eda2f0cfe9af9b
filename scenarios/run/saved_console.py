"""`cascadesim console RUN_DIR`: a finished run (live or virtual, a full-length replay too) in the operator's page,
with a time slider: the graph and its figures at any second, the charts with a cursor, the events.

It reads the run directory once: scenario.toml, the columns of timeseries.csv that the graph and the charts use
(kept as arrays of floats: a 14-hour replay's are tens of MB, not its whole CSV), and the events but the control
plane's routine steps. A slider move asks for one second (`/api/at/N`), which is one row and the kills and NLB
changes up to it.
"""

from __future__ import annotations

import csv
import tomllib
from array import array
from bisect import bisect_right
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reports.console_model import Happenings, graph_of, states
from scenarios.run.operator_console import CHART_COLUMNS, event_record, finite, static_routes
from services.event_kinds import CONTROL_PLANE_STEPS
from services.events import read_events

CHART_POINTS = 3000  # a chart's points at most: longer runs are drawn from each stretch's highest value
EVENTS_SHOWN = 3000  # the events listed at most (the first ones; a replay's lease churn is long)
HAPPENINGS = ("node_killed", "node_revived", "nlb_target_out", "nlb_target_in")


class SavedRun:
    """What the page needs of a run directory, read once."""

    def __init__(self, directory: Path) -> None:
        scenario_file = directory / "scenario.toml"
        series_file = directory / "timeseries.csv"
        if not scenario_file.is_file() or not series_file.is_file():
            raise FileNotFoundError(f"{directory}: not a run directory (no scenario.toml or timeseries.csv)")
        with scenario_file.open("rb") as f:
            self.scenario: dict[str, Any] = tomllib.load(f)
        self.graph = graph_of(self.scenario)
        self.columns: dict[str, array[float]] = {}
        with series_file.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            prefixes = tuple(f"{n.capacity}_" for n in self.graph.nodes if n.capacity is not None)
            wanted = [(k, name) for k, name in enumerate(header) if _drawn(name, prefixes)]
            for _, name in wanted:
                self.columns[name] = array("d")
            for line in reader:
                for k, name in wanted:
                    self.columns[name].append(float(line[k]) if k < len(line) and line[k] else 0.0)
        self.seconds = len(self.columns.get("second", ()))
        events_file = directory / "events.jsonl"
        events = (
            read_events(events_file, keep=lambda kind: kind not in CONTROL_PLANE_STEPS) if events_file.is_file() else []
        )
        self.events = [event_record(e) for e in events]
        happenings = [(e.t, str(e.kind), e.source) for e in events if e.kind in HAPPENINGS]
        self._happening_times = [t for t, _, _ in happenings]
        self._happenings = [(kind, source) for _, kind, source in happenings]

    def at(self, second: int) -> dict[str, Any]:
        """The graph's states at `second` (clamped to the run's)."""
        second = min(max(1, second), max(1, self.seconds))
        if not self.seconds:
            return {"second": 0, "states": {}}
        row = {name: values[second - 1] for name, values in self.columns.items()}
        upto = bisect_right(self._happening_times, float(second))
        return {"second": second, "states": states(self.graph, row, Happenings.replayed(self._happenings[:upto]))}

    def history(self) -> dict[str, Any]:
        """The charts' series (at most CHART_POINTS each) and the events."""
        stride = max(1, -(-self.seconds // CHART_POINTS))
        seconds = list(self.columns.get("second", array("d")))[::stride]
        series = {
            name: [max(values[k : k + stride]) for k in range(0, len(values), stride)]
            for name, values in self.columns.items()
            if name in CHART_COLUMNS
        }
        return {"seconds": seconds, "series": series, "events": self.events[:EVENTS_SHOWN]}


def _drawn(column: str, prefixes: tuple[str, ...]) -> bool:
    """Whether the page draws a column of timeseries.csv: a node's (by its prefix), DNS's, a chart's."""
    return column == "second" or column in CHART_COLUMNS or column.startswith(("dns_", *prefixes))


def saved_app(run: SavedRun) -> Starlette:
    async def info(request: Request) -> Response:
        return JSONResponse(
            {
                "mode": "saved",
                "scenario": str(run.scenario.get("name", "")),
                "description": str(run.scenario.get("description", "")),
                "duration": run.seconds,
                "seconds": run.seconds,
                "graph": run.graph.to_json(),
                "controls": [],
            }
        )

    async def history(request: Request) -> Response:
        return JSONResponse(finite(run.history()))

    async def at(request: Request) -> Response:
        try:
            second = int(request.path_params["second"])
        except ValueError:
            return JSONResponse({"error": "a second is a whole number"}, status_code=400)
        return JSONResponse(finite(run.at(second)))

    routes = [
        *static_routes(),
        Route("/api/info", info),
        Route("/api/history", history),
        Route("/api/at/{second}", at),
    ]
    return Starlette(routes=routes)
