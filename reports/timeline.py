"""The fault timeline of a run: the story's windows and marks (fault windows, DNS outages, operator actions, what
was observed, and each service's error windows), drawn onto every chart as bands and lines (`chart_layout`) and as
a chart of its own (`timeline`).

Pure: rows and events in, Plotly figure specs out. Every string that comes from a scenario, a policy set or an
event goes through `text` (HTML-escaped) before it reaches Plotly.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from reports.columns import DNS_REGIONAL_ADDRESSES, SECOND, client_kinds, operations
from reports.kpis import error_windows, operation_error_windows, saturated_rows
from services.event_kinds import EventKind
from services.events import Event

Row = Mapping[str, float | int]
Figure = dict[str, Any]

OBSERVED: dict[str, str] = {
    EventKind.RECORD_EMPTIED: "DNS record emptied",
    EventKind.RECORD_FILLED: "DNS record filled",
    EventKind.DYNAMODB_UNREACHABLE: "DynamoDB unreachable",
    EventKind.LEASES_EXPIRING: "leases expiring",
    EventKind.LAUNCHES_FAILING: "launches failing",
    EventKind.LAUNCHES_RECOVERED: "launches recovered",
    EventKind.DWFM_NO_PROGRESS: "DWFM collapsed",
    EventKind.LEASES_RECOVERED: "leases recovered",
    EventKind.POLLER_STUCK: "poller stuck",
    EventKind.INVOCATIONS_FAILING: "invocations failing",
    EventKind.INVOCATIONS_RECOVERED: "invocations recovered",
    EventKind.PROPAGATION_BACKLOG: "propagation backlog",
    EventKind.PROPAGATION_BACKLOG_DRAINED: "backlog drained",
    EventKind.LOCUST_EXITED: "Locust exited",
    EventKind.PROGRAM_EXITED: "your program exited",
    EventKind.RUN_INTERRUPTED: "interrupted",
    EventKind.RUN_FAILED: "run failed",
}
FAULT_COLOUR = "rgba(230, 126, 34, 0.13)"
DNS_EMPTY_COLOUR = "rgba(192, 57, 43, 0.16)"
OPERATOR_COLOUR = "#2471a3"
SATURATED_COLOUR = "rgba(90, 90, 90, 0.2)"


def text(value: object) -> str:
    """A scenario's or event's string, safe to hand to Plotly."""
    return html.escape(str(value), quote=False)  # no tag can open, so quotes can stay (Plotly shows &quot; raw)


def fault_windows(events: Sequence[Event], end: float) -> list[tuple[float, float, str]]:
    """(start, end, what) of each fault, from its start event to its end event (or the run's end)."""
    windows = []
    open_faults: dict[str, list[Event]] = {}
    for event in events:
        name = str(event.data.get("fault", ""))
        if event.kind == EventKind.FAULT_START:
            open_faults.setdefault(name, []).append(event)
        elif event.kind == EventKind.FAULT_END and open_faults.get(name):
            began = open_faults[name].pop(0)
            windows.append((began.t, event.t, began.message))
    for started in open_faults.values():
        windows.extend((e.t, end, e.message) for e in started)
    return sorted(windows)


def dns_empty_windows(rows: Sequence[Row]) -> list[tuple[float, float]]:
    """(start, end) of each stretch in which DynamoDB's regional name had no address (row N covers N-1 to N)."""
    windows: list[tuple[float, float]] = []
    start: float | None = None
    for row in rows:
        second = float(row[SECOND])
        empty = row.get(DNS_REGIONAL_ADDRESSES, 1) == 0
        if empty and start is None:
            start = second - 1
        elif not empty and start is not None:
            windows.append((start, second - 1))
            start = None
    if start is not None:
        windows.append((start, float(rows[-1][SECOND])))
    return windows


def saturated_windows(rows: Sequence[Row]) -> list[tuple[float, float]]:
    """(start, end) of each stretch of seconds in which a live run's machine was the limit (kpis.saturated)."""
    windows: list[tuple[float, float]] = []
    for row, flagged in zip(rows, saturated_rows(rows), strict=True):
        if flagged:
            second = float(row[SECOND])
            if windows and windows[-1][1] == second - 1:
                windows[-1] = (windows[-1][0], second)
            else:
                windows.append((second - 1, second))
    return windows


def operator_actions(events: Sequence[Event]) -> list[Event]:
    return [e for e in events if e.kind == EventKind.OPERATOR_ACTION]


def shapes(rows: Sequence[Row], events: Sequence[Event]) -> list[dict[str, Any]]:
    """The timeline drawn onto a chart: fault bands, DNS-empty bands and a line at each operator action."""
    end = float(rows[-1][SECOND]) if rows else 0.0
    drawn: list[dict[str, Any]] = []
    for start, stop, _ in fault_windows(events, end):
        drawn.append(_band(start, stop, FAULT_COLOUR))
    for start, stop in dns_empty_windows(rows):
        drawn.append(_band(start, stop, DNS_EMPTY_COLOUR))
    for start, stop in saturated_windows(rows):
        drawn.append(_band(start, stop, SATURATED_COLOUR))
    for action in operator_actions(events):
        drawn.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": action.t,
                "x1": action.t,
                "y0": 0,
                "y1": 1,
                "line": {"color": OPERATOR_COLOUR, "width": 1, "dash": "dot"},
            }
        )
    return drawn


def _band(start: float, stop: float, colour: str) -> dict[str, Any]:
    return {
        "type": "rect",
        "xref": "x",
        "yref": "paper",
        "x0": start,
        "x1": max(stop, start + 0.5),
        "y0": 0,
        "y1": 1,
        "fillcolor": colour,
        "line": {"width": 0},
        "layer": "below",
    }


def timeline(rows: Sequence[Row], events: Sequence[Event]) -> Figure:
    """The story at a glance: fault windows, DNS outages, operator actions and what the services went through."""
    end = float(rows[-1][SECOND]) if rows else 0.0
    traces: list[dict[str, Any]] = []
    for start, stop, what in fault_windows(events, end):
        traces.append(_bar([start, stop], "faults", "#e67e22", f"{start:.0f}–{stop:.0f} s: {text(what)}"))
    for start, stop in dns_empty_windows(rows):
        traces.append(_bar([start, stop], "DNS empty", "#c0392b", f"{start:.0f}–{stop:.0f} s: no address"))
    actions = operator_actions(events)
    if actions:
        traces.append(_points(actions, "operators", OPERATOR_COLOUR, "diamond"))
    observed = [e for e in events if e.kind in OBSERVED]
    if observed:
        traces.append(_points(observed, "observed", "#555", "circle"))
    lanes = ["observed", "operators", "DNS empty", "faults"]
    for lane, windows in reversed(_error_lanes(rows)):  # each service's error windows, under the story
        lanes.insert(0, lane)
        for start, stop in windows:
            traces.append(_bar([start, stop], lane, "#8e44ad", f"{start}–{stop} s: {lane}: under half succeed"))
    layout = chart_layout("Timeline", rows, events, height=150 + 20 * len(lanes))
    layout["yaxis"] = {"categoryorder": "array", "categoryarray": lanes, "fixedrange": True}
    layout["showlegend"] = False
    layout["hovermode"] = "closest"
    layout["margin"] = {**layout["margin"], "l": max(90, 7 * max(len(lane) for lane in lanes))}
    layout["xaxis"] = {**layout["xaxis"], "range": [0, end]}  # the whole run, as the other charts show it
    return {"id": "timeline", "data": traces, "layout": layout}


def _error_lanes(rows: Sequence[Row]) -> list[tuple[str, list[list[int]]]]:
    """The timeline's error lanes: each client kind's error windows, then those of the operations of declared
    services that have more than one (whose windows can differ: Redshift's queries and its cluster changes)."""
    if not rows:
        return []
    lanes = [(f"{kind} errors", spans) for kind, spans in error_windows(rows, client_kinds(rows[0])).items() if spans]
    per_service = Counter(service for service, _ in operations(rows[0]))
    several = {service for service, count in per_service.items() if count > 1}
    for name, spans in operation_error_windows(rows).items():
        if spans and name.split(" ")[0] in several:
            lanes.append((f"{name} errors", spans))
    return lanes


def _bar(xs: list[float], lane: str, colour: str, hover: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "x": xs,
        "y": [lane, lane],
        "line": {"color": colour, "width": 14},
        "hovertext": [hover, hover],
        "hoverinfo": "text",
        "name": lane,
    }


def _points(events: Sequence[Event], lane: str, colour: str, symbol: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "markers",
        "x": [round(e.t, 3) for e in events],
        "y": [lane] * len(events),
        "marker": {"color": colour, "size": 10, "symbol": symbol},
        "hovertext": [f"{e.t:.1f} s · {text(OBSERVED.get(e.kind, e.kind))}<br>{text(e.message)}" for e in events],
        "hoverinfo": "text",
        "name": lane,
    }


def chart_layout(title: str, rows: Sequence[Row], events: Sequence[Event], *, height: int = 300) -> dict[str, Any]:
    """A chart's layout over simulated time, with the run's timeline drawn on it."""
    return {
        "title": {"text": title, "x": 0, "font": {"size": 15}},
        "height": height,
        "margin": {"l": 60, "r": 60, "t": 40, "b": 30},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.12, "yanchor": "top"},
        "xaxis": {"ticksuffix": " s", "zeroline": False},
        "shapes": shapes(rows, events),
        "plot_bgcolor": "#fbfbfd",
    }
