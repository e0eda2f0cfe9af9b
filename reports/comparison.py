"""The comparison report: one scenario under several policy sets, rendered from a `compare` directory alone.

A KPI table across the policy sets with the best value of each column marked, goodput and DynamoDB load of every
policy set overlaid on one fault timeline, and one small chart per policy set (what its clients got).

A what-if comparison (comparison.json has "variants": the incident replayed as several named variants) leads with
what its customers saw (reports/customers.py): each service's time in errors per variant beside the baseline's, the
incident's length, which phases of AWS's timeline happened, and every variant's error windows on one time axis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports.charts import line, series
from reports.columns import CLIENTS_LOGICAL, CLIENTS_OK, DYNAMODB_ARRIVALS, DYNAMODB_COMPLETED
from reports.customers import PHASES, clock_text, delta_text, duration_text, label_of, service_order, shown_seconds
from reports.labels import reading, title_of
from reports.render import environment, plotly_script, read_json, run_events, run_rows
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


# --- a what-if comparison: what the customers saw ----------------------------------------------------------------


def variants_in_order(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The variants of a what-if comparison, the baseline first (none for a policy comparison)."""
    variants = [v for v in summary.get("variants") or [] if isinstance(v, Mapping)]
    at = next((i for i, v in enumerate(variants) if v.get("name") == summary.get("baseline")), 0)
    return [dict(v) for v in variants[at : at + 1] + variants[:at] + variants[at + 1 :]]


def _impact(first: float | None, last: float | None) -> str:
    return "" if first is None or last is None else f"{clock_text(first)}–{clock_text(last)}"


def _change(seconds: float | None, baseline: float | None, is_baseline: bool) -> tuple[str | None, str]:
    """The delta under a cell and its class ("better", "worse" or "same"); nothing for the baseline's own cells."""
    if is_baseline or seconds is None or baseline is None:
        return None, ""
    change = shown_seconds(seconds) - shown_seconds(baseline)
    return delta_text(change), "better" if round(change) < 0 else "worse" if round(change) > 0 else "same"


def _time_cell(seconds: float | None, base: float | None, first: bool, span: Mapping[str, Any]) -> dict[str, Any]:
    """A cell of time in errors (None: none at all), its first–last minutes from `span`, and its change from the
    baseline's `base` (None: nothing to compare with)."""
    delta, change = _change(seconds or 0.0, base, first)
    return {
        "value": "no errors" if seconds is None else duration_text(seconds),
        "impact": _impact(span.get("first_s"), span.get("last_s")),
        "delta": delta,
        "change": change,
    }


def _service_cell(service: Mapping[str, Any] | None, base: Mapping[str, Any] | None, first: bool) -> dict[str, Any]:
    if service is None:
        return {"value": "–", "impact": "", "delta": None, "change": ""}
    baseline = None if base is None else float(base.get("error_s") or 0)
    return _time_cell(float(service.get("error_s") or 0) or None, baseline, first, service)


def _incident_cell(incident: Mapping[str, Any], base: Mapping[str, Any], first: bool) -> dict[str, Any]:
    return _time_cell(incident.get("length_s"), base.get("length_s") or 0.0, first, incident)


def _phase_cell(phase: Mapping[str, Any], base: Mapping[str, Any], first: bool) -> dict[str, Any]:
    spans = phase.get("spans") or []
    if not spans:
        gone = not first and bool(base.get("spans"))
        return {"value": "did not happen", "impact": "", "delta": None, "change": "better" if gone else "none"}
    length = float(phase.get("length_s") or 0)
    happened = bool(base.get("spans"))
    delta, change = _change(length, float(base.get("length_s") or 0) if happened else None, first)
    if not first and not happened:
        delta, change = "did not happen in the baseline", "worse"
    shown = ", ".join(f"{clock_text(a)}–{'end' if b is None else clock_text(b)}" for a, b in spans)
    to_end = any(b is None for _, b in spans)
    value = duration_text(length) + (" (to the end of the run)" if to_end else "")
    return {"value": value, "impact": shown, "delta": delta, "change": change}


def what_if_tables(summary: Mapping[str, Any]) -> dict[str, Any] | None:
    """A what-if comparison's tables, ready to show: per service, for the incident and per phase, one cell per
    variant (its value, first–last as h:mm, the change from the baseline); None for a policy comparison."""
    variants = variants_in_order(summary)
    if not variants:
        return None
    views = [v.get("customers") or {} for v in variants]
    by_kind = [{s["kind"]: s for s in view.get("services") or []} for view in views]
    kinds = service_order(kind for services in by_kind for kind in services)
    services = [
        {
            "label": label_of(kind),
            "cells": [_service_cell(seen.get(kind), by_kind[0].get(kind), i == 0) for i, seen in enumerate(by_kind)],
        }
        for kind in kinds
    ]
    incidents = [view.get("incident") or {} for view in views]
    incident = [_incident_cell(seen, incidents[0], i == 0) for i, seen in enumerate(incidents)]
    phase_maps = [view.get("phases") or {} for view in views]
    keys = [*PHASES, *sorted({k for phases in phase_maps for k in phases} - set(PHASES))]
    phases = [
        {
            "label": next((p[key]["label"] for p in phase_maps if key in p), PHASES.get(key, key)),
            "cells": [
                _phase_cell(p.get(key) or {}, phase_maps[0].get(key) or {}, i == 0) for i, p in enumerate(phase_maps)
            ],
        }
        for key in keys
    ]
    return {
        "question": summary.get("question") or "",
        "baseline": variants[0].get("name", ""),
        "variants": variants,
        "services": services,
        "incident": incident,
        "phases": phases,
    }


HOUR = 3600.0


def error_windows_chart(variants: Sequence[Mapping[str, Any]]) -> Figure:
    """Every variant's error windows on one time axis in hours: a lane per (variant, service), the lanes of a
    variant together, a bar per window."""
    lanes: list[str] = []
    traces: list[dict[str, Any]] = []
    bands: list[dict[str, Any]] = []
    end = 0.0
    for i, variant in enumerate(variants):
        view = variant.get("customers") or {}
        name = text(variant.get("name", "?"))
        first_lane = len(lanes)
        starts, lengths, ys, hovers = [], [], [], []
        for service in view.get("services") or []:
            lane = f"{name} · {text(service.get('label', service.get('kind', '?')))}"
            lanes.append(lane)
            for start, stop in service.get("windows") or []:
                starts.append(round(start / HOUR, 4))
                lengths.append(round(max(stop - start, 1) / HOUR, 4))
                ys.append(lane)
                hovers.append(f"{lane}<br>{clock_text(start)}–{clock_text(stop)} ({duration_text(stop - start)})")
                end = max(end, stop)
        end = max(end, float(view.get("end_s") or 0))
        colour = PALETTE[i % len(PALETTE)]
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "base": starts,
                "x": lengths,
                "y": ys,
                "name": name,
                "marker": {"color": colour},
                "hovertext": hovers,
                "hoverinfo": "text",
            }
        )
        if i % 2 == 1 and len(lanes) > first_lane:
            bands.append(
                {
                    "type": "rect",
                    "xref": "paper",
                    "yref": "y",
                    "x0": 0,
                    "x1": 1,
                    "y0": first_lane - 0.5,
                    "y1": len(lanes) - 0.5,
                    "fillcolor": "rgba(120, 120, 140, 0.08)",
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
    # Every lane drawn, those without an error too: a bar of no length in each.
    traces.insert(
        0,
        {
            "type": "bar",
            "orientation": "h",
            "base": [0] * len(lanes),
            "x": [0] * len(lanes),
            "y": lanes,
            "showlegend": False,
            "hoverinfo": "skip",
            "marker": {"color": "rgba(0, 0, 0, 0)"},
        },
    )
    layout = {
        "title": {"text": "Error windows per variant", "x": 0, "font": {"size": 15}},
        "height": 110 + 22 * max(len(lanes), 1),
        "margin": {"l": max(90, 7 * max((len(lane) for lane in lanes), default=0)), "r": 20, "t": 40, "b": 40},
        "barmode": "overlay",
        "hovermode": "closest",
        "xaxis": {"title": {"text": "hours since the run's start"}, "ticksuffix": " h", "range": [0, end / HOUR or 1]},
        "yaxis": {"categoryorder": "array", "categoryarray": lanes, "autorange": "reversed", "fixedrange": True},
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1, "yanchor": "bottom"},
        "shapes": bands,
        "plot_bgcolor": "#fbfbfd",
    }
    return {"id": "error-windows", "data": traces, "layout": layout}


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
    what_if = what_if_tables(summary)
    leading = [error_windows_chart(what_if["variants"])] if what_if else []
    interrupted = [run.policy for run in runs if read_json(root / run.directory / "meta.json").get("interrupted")]
    page = environment.get_template("comparison.html").render(
        summary=summary,
        runs=runs,
        compared=COMPARED,
        best=best(runs) if not interrupted else {name: set() for name in COMPARED},
        definitions=summary.get("definitions", {}),
        overlays=overlays,
        multiples=multiples,
        charts=leading + overlays + multiples,
        what_if=what_if,
        leading=leading,
        interrupted=interrupted,
        reading=reading,
        title_of=title_of,
        plotly=plotly_script(root),
    )
    path = root / "comparison.html"
    path.write_text(page, encoding="utf-8")
    return path
