"""The comparison report: one scenario under several policy sets, rendered from a `compare` directory alone.

A KPI table across the policy sets with the best value of each column marked, goodput and DynamoDB load of every
policy set overlaid on one fault timeline, and one small chart per policy set (what its clients got).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports.charts import line, series
from reports.columns import CLIENTS_LOGICAL, CLIENTS_OK, DYNAMODB_ARRIVALS, DYNAMODB_COMPLETED
from reports.labels import reading, title_of
from reports.render import environment, plotly_js, read_json, run_events, run_rows
from reports.timeline import Figure, Row, chart_layout, text
from services.events import Event

# The KPIs the table compares; for each, lower is better (metastable: "no" beats "yes"; SLO minutes: their sum).
COMPARED = (
    "dns_empty_seconds",
    "time_to_recover_s",
    "metastable",
    "peak_dynamodb_over_baseline",
    "retry_amplification",
    "retry_amplification_during_fault",
    "wasted_share",
    "lease_recovery_s",
    "slo_violation_minutes",
)
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


@dataclass(frozen=True)
class ComparedRun:
    policy: str
    directory: str
    kpis: Mapping[str, Any]
    rows: Sequence[Row]
    events: Sequence[Event]


def score(name: str, value: Any) -> float:
    """A KPI as a number where lower is better; a missing value (e.g. never recovered) is the worst."""
    if value is None:
        return math.inf
    if name == "metastable":
        return 1.0 if value else 0.0
    if isinstance(value, Mapping):
        return float(sum(v for v in value.values() if isinstance(v, int | float)))
    return float(value) if isinstance(value, int | float) else math.inf


def best(runs: Sequence[ComparedRun]) -> dict[str, set[int]]:
    """For each compared KPI, the runs that share its best value (none when every run scores the same)."""
    marked: dict[str, set[int]] = {}
    for name in COMPARED:
        scores = [score(name, run.kpis.get(name)) for run in runs]
        low = min(scores, default=math.inf)
        if len(set(scores)) > 1 and math.isfinite(low):
            marked[name] = {i for i, s in enumerate(scores) if s == low}
        else:
            marked[name] = set()
    return marked


def _goodput_column(rows: Sequence[Row]) -> str:
    return CLIENTS_OK if rows and CLIENTS_OK in rows[0] else DYNAMODB_COMPLETED


def _overlay(runs: Sequence[ComparedRun], figure_id: str, title: str, column_of: Any, unit: str) -> Figure:
    traces = []
    for i, run in enumerate(runs):
        if not run.rows:
            continue
        column = column_of(run.rows)
        x, values = series(run.rows, [column])
        traces.append(
            line(x, values[column], text(run.policy), line={"color": PALETTE[i % len(PALETTE)], "width": 1.5})
        )
    reference = next((run for run in runs if run.rows), None)
    layout = chart_layout(title, reference.rows if reference else [], reference.events if reference else [], height=340)
    layout["yaxis"] = {"title": {"text": unit}, "rangemode": "tozero"}
    return {"id": figure_id, "data": traces, "layout": layout}


def _small_multiple(i: int, run: ComparedRun, height: int = 240) -> Figure:
    rows = run.rows
    clients = bool(rows) and CLIENTS_LOGICAL in rows[0]
    columns = [CLIENTS_OK, CLIENTS_LOGICAL] if clients else [DYNAMODB_COMPLETED, DYNAMODB_ARRIVALS]
    x, values = series(rows, columns) if rows else ([], {c: [] for c in columns})
    good, offered = values[columns[0]], values[columns[1]]
    failed = [round(o - g, 3) for o, g in zip(offered, good, strict=True)]
    traces = [
        line(x, good, "ok", stackgroup="one", line={"color": "#2e9d57", "width": 0.5}),
        line(x, failed, "failed", stackgroup="one", line={"color": "#c0392b", "width": 0.5}),
    ]
    layout = chart_layout(text(run.policy), rows, run.events, height=height)
    layout |= {"showlegend": False, "margin": {"l": 45, "r": 10, "t": 30, "b": 25}, "yaxis": {"rangemode": "tozero"}}
    return {"id": f"policy-{i}", "data": traces, "layout": layout}


def comparison_charts(runs: Sequence[ComparedRun]) -> tuple[list[Figure], list[Figure]]:
    """(the overlaid charts, the small multiples)."""
    overlays = [
        _overlay(runs, "goodput", "Goodput: successful client requests per second", _goodput_column, "per second"),
        _overlay(runs, "dynamodb", "DynamoDB load: arrivals per second", lambda rows: DYNAMODB_ARRIVALS, "per s"),
    ]
    return overlays, [_small_multiple(i, run) for i, run in enumerate(runs)]


def load_comparison(root: Path) -> tuple[dict[str, Any], list[ComparedRun]]:
    summary = read_json(root / "comparison.json")
    runs = [
        ComparedRun(
            str(entry.get("policy", "?")),
            str(entry.get("directory", "")),
            entry.get("kpis") or {},
            run_rows(root / str(entry.get("directory", ""))),
            run_events(root / str(entry.get("directory", ""))),
        )
        for entry in summary.get("runs", [])
    ]
    return summary, runs


def render_comparison(root: Path) -> Path:
    """Write `root`/comparison.html from comparison.json and the run directories beside it; returns its path."""
    summary, runs = load_comparison(root)
    overlays, multiples = comparison_charts(runs)
    interrupted = [run.policy for run in runs if read_json(root / run.directory / "meta.json").get("interrupted")]
    page = environment.get_template("comparison.html").render(
        summary=summary,
        runs=runs,
        compared=COMPARED,
        best=best(runs) if not interrupted else {name: set() for name in COMPARED},
        definitions=summary.get("definitions", {}),
        overlays=overlays,
        multiples=multiples,
        charts=overlays + multiples,
        interrupted=interrupted,
        reading=reading,
        title_of=title_of,
        plotly_js=plotly_js(),
    )
    path = root / "comparison.html"
    path.write_text(page, encoding="utf-8")
    return path
