"""A run's report.html, rendered from its run directory alone (so `cascadesim report RUN_DIR` re-renders any run).

Jinja2 with autoescaping on: every name, description and message from a scenario or an event is shown as text,
never run as markup or script; chart data goes in through `tojson`, which escapes `<`, `>` and `&`.

A report is one self-contained file: the Plotly bundle is inlined (about 4.8 MB), so a report can be mailed or
attached to a post-mortem on its own and opens offline; its Content-Security-Policy forbids every request.
"""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from reports.charts import run_charts
from reports.guest_calls import program_chart
from reports.labels import in_order, reading, title_of
from reports.timeline import OBSERVED, Figure, Row
from services.event_kinds import EventKind
from services.events import Event, read_events

NOTABLE = {
    EventKind.FAULT_START,
    EventKind.FAULT_END,
    EventKind.OPERATOR_ACTION,
    EventKind.RECORD_EMPTIED,
    EventKind.RECORD_FILLED,
    EventKind.DYNAMODB_UNREACHABLE,
    EventKind.LEASES_EXPIRING,
    EventKind.LAUNCHES_FAILING,
    EventKind.LAUNCHES_RECOVERED,
    EventKind.DWFM_NO_PROGRESS,
    EventKind.LEASES_RECOVERED,
    EventKind.POLLER_STUCK,
    EventKind.INVOCATIONS_FAILING,
    EventKind.INVOCATIONS_RECOVERED,
    EventKind.PROPAGATION_BACKLOG,
    EventKind.PROPAGATION_BACKLOG_DRAINED,
    EventKind.LOCUST_EXITED,
    EventKind.PROGRAM_STARTED,
    EventKind.PROGRAM_EXITED,
    EventKind.RUN_INTERRUPTED,
    EventKind.RUN_FAILED,
    EventKind.INTERNAL_ERROR,  # a bug of ours that a service answered with a 500 (the first few in full)
    EventKind.INTERNAL_ERRORS_COUNTED,  # ... and how many more there were
}

environment = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(default=True))


def render_run(directory: Path) -> Path:
    """Write `directory`/report.html from the run's saved files; returns its path."""
    meta = read_json(directory / "meta.json")
    kpis = read_json(directory / "kpis.json")
    values = kpis.get("kpis", {})
    events = run_events(directory)
    charts = _charts(run_rows(directory), events)
    lead = _lead(charts, meta, values)
    page = environment.get_template("run.html").render(
        meta=meta,
        kpis=[(k, v) for k, v in in_order(values) if k not in NOT_CARDS],
        values=values,
        why_empty=values.get("why_empty") or {},
        lead=lead,
        saturated=values.get("saturated_seconds") or 0,
        definitions=kpis.get("definitions", {}),
        timeline=[e for e in events if e.kind in NOTABLE],
        charts=([lead] if lead is not None else []) + charts,  # drawn; `placed` are those the page's list places
        placed=charts,
        locust_report=(directory / "locust" / "report.html").is_file(),
        reading=reading,
        title_of=title_of,
        plotly=plotly_script(directory),
    )
    path = directory / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


NOT_CARDS = {"verdict_sentence", "why_empty"}  # shown at the top of the page, and in place of empty values


def _lead(charts: list[Figure], meta: dict[str, Any], kpis: dict[str, Any]) -> Figure | None:
    """The chart that shows the verdict (the clients' outcomes, else DNS), marked with where the run was written to
    end and where its verdict was decided; it leaves `charts` to lead the page."""
    lead = next((c for c in charts if c["id"] == "clients"), None) or next(
        (c for c in charts if c["id"] == "dns"), None
    )
    if lead is None:
        return None
    charts.remove(lead)
    marks = [("written end", meta.get("duration"), "#555"), ("verdict decided", kpis.get("decided_at_s"), "#8e44ad")]
    shapes = list(lead["layout"].get("shapes", []))
    notes = list(lead["layout"].get("annotations", []))
    for label, at, colour in marks:
        if at is None or (label == "written end" and at >= (meta.get("simulated_seconds") or 0)):
            continue
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": at,
                "x1": at,
                "y0": 0,
                "y1": 1,
                "line": {"color": colour, "width": 2, "dash": "dash"},
            }
        )
        notes.append(
            {
                "x": at,
                "xref": "x",
                "y": 1,
                "yref": "paper",
                "text": label,
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "bottom",
                "font": {"size": 11, "color": colour},
            }
        )
    lead["layout"] = {**lead["layout"], "shapes": shapes, "annotations": notes}
    return lead


def _charts(rows: list[Row], events: list[Event]) -> list[Figure]:
    """The run's charts, with the user's program's calls (a run under `cascadesim exec`) after the DNS chart."""
    charts = run_charts(rows, events)
    program = program_chart(rows, events)
    if program is not None:
        at = next((i + 1 for i, chart in enumerate(charts) if chart["id"] == "dns"), len(charts))
        charts.insert(at, program)
    return charts


def run_rows(directory: Path) -> list[Row]:
    """timeseries.csv as numbers (a missing file: no rows)."""
    path = directory / "timeseries.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def run_events(directory: Path) -> list[Event]:
    """The events a report draws or lists (not the control plane's routine steps)."""
    path = directory / "events.jsonl"
    return read_events(path, keep=lambda kind: kind in NOTABLE or kind in OBSERVED) if path.is_file() else []


def _number(value: str | None) -> float | int:
    if not value:
        return 0
    try:
        return int(value)
    except ValueError:
        return float(value)


@cache
def plotly_js() -> str:
    """The Plotly bundle that ships with the plotly package, to inline into a page."""
    bundle: str = get_plotlyjs()
    return bundle


PLOTLY_FILE = "plotly.min.js"  # a shared copy of the bundle, beside the runs of a sweep or a comparison


def share_plotly(root: Path) -> Path:
    """Write the Plotly bundle once into `root` (a sweep's or a comparison's directory): the pages written there and
    in the run directories just under it then load it (~3.5 MB) instead of carrying a copy each."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / PLOTLY_FILE
    bundle = plotly_js().encode("utf-8")
    if not path.is_file() or path.read_bytes() != bundle:
        path.write_bytes(bundle)
    return path


class PlotlyScript(NamedTuple):
    """How a page gets Plotly: the <script> element, and what its Content-Security-Policy's script-src adds."""

    tag: Markup
    csp: str  # "" for the inlined bundle ('unsafe-inline' already allows it)


def plotly_script(directory: Path) -> PlotlyScript:
    """The page's Plotly: the shared copy in `directory` or its parent (share_plotly) by a relative path, which
    still opens offline from the disk (the page's policy then allows scripts from its own origin and from files);
    else the bundle inlined, so that a run's report stands on its own."""
    for prefix, where in (("", directory), ("../", directory.parent)):
        if (where / PLOTLY_FILE).is_file():
            return PlotlyScript(Markup(f'<script src="{prefix}{PLOTLY_FILE}"></script>'), " 'self' file:")
    return PlotlyScript(Markup(f"<script>{plotly_js()}</script>"), "")


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
