"""A report's charts as Plotly figure specs (plain, JSON-ready dicts) built from a run's saved rows and events.

Pure: rows and events in, figures out; the page draws them with the Plotly bundle it carries. A long run is cut
into at most MAX_POINTS buckets per series. A bucket takes the mean of a rate (a per-second count) and the
extreme of a level, so a 14-hour run stays small and one second of an empty DNS record still shows.

Every string that comes from a scenario, a policy set or an event is HTML-escaped before it reaches Plotly,
whose labels understand a few tags: a name is shown as text, never as markup.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from reports.columns import (
    CLIENTS_ATTEMPTS,
    CLIENTS_LOGICAL,
    DNS_ADDRESSES,
    DNS_FIPS_ADDRESSES,
    DNS_IPV6_ADDRESSES,
    DNS_REGIONAL_ADDRESSES,
    DWFM,
    DWFM_EXPIRED,
    DWFM_LEASES,
    DWFM_QUEUE,
    DWFM_WASTED,
    DYNAMODB,
    EC2_API,
    IN_FLIGHT,
    LAMBDA,
    LAMBDA_POLLER_BACKLOG,
    NETMGR,
    P50_MS,
    P99_MS,
    QUEUE,
    SECOND,
    client_kinds,
    clients,
    node_column,
    operations,
)
from reports.kpis import error_windows, operation_error_windows
from services.event_kinds import EventKind
from services.events import Event

Row = Mapping[str, float | int]
Figure = dict[str, Any]

MAX_POINTS = 2000

SERVICES = {
    DYNAMODB: "DynamoDB routers",
    EC2_API: "EC2 API",
    DWFM: "DWFM lease work",
    NETMGR: "Network Manager",
    LAMBDA: "Lambda",
}
ERRORS = ("rejected", "expired", "dropped", "shed", "wasted")
ERROR_COLOURS = {
    "rejected": "#e67e22",
    "expired": "#8e44ad",
    "dropped": "#7f8c8d",
    "shed": "#16a085",
    "wasted": "#c0392b",
}
OUTCOMES = {
    "ok": "#2e9d57",
    "dns": "#c0392b",
    "throttled": "#e67e22",
    "timeout": "#8e44ad",
    "unreachable": "#7f8c8d",
    "server_error": "#d35400",
    "client_error": "#2c3e50",
    "rejected_locally": "#16a085",
}
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


def text(value: object) -> str:
    """A scenario's or event's string, safe to hand to Plotly."""
    return html.escape(str(value), quote=False)  # no tag can open, so quotes can stay (Plotly shows &quot; raw)


# --- time series ------------------------------------------------------------------------------------------------


_PEAKS = tuple(f"_{measure}" for measure in (QUEUE, IN_FLIGHT, P50_MS, P99_MS))  # a node's columns kept at their peak


def _aggregate(column: str) -> str:
    if column in DNS_ADDRESSES or column == DWFM_LEASES:
        return "min"
    if column.endswith(_PEAKS) or column == LAMBDA_POLLER_BACKLOG:
        return "max"
    return "mean"


def series(rows: Sequence[Row], columns: Sequence[str]) -> tuple[list[int], dict[str, list[float]]]:
    """The seconds and each column's values, bucketed to at most MAX_POINTS points (x: a bucket's first second)."""
    size = max(1, math.ceil(len(rows) / MAX_POINTS))
    buckets = [rows[i : i + size] for i in range(0, len(rows), size)]
    x = [int(bucket[0][SECOND]) for bucket in buckets]
    values: dict[str, list[float]] = {}
    for column in columns:
        how = _aggregate(column)
        out = []
        for bucket in buckets:
            got = [float(r.get(column, 0)) for r in bucket]
            if how == "min":
                out.append(min(got))
            elif how == "max":
                out.append(max(got))
            else:
                out.append(round(sum(got) / len(got), 3))
        values[column] = out
    return x, values


def has(rows: Sequence[Row], column: str) -> bool:
    return bool(rows) and column in rows[0]


# --- the fault timeline -----------------------------------------------------------------------------------------


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


# --- charts -----------------------------------------------------------------------------------------------------


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


def line(x: list[int], y: list[float], name: str, **style: Any) -> dict[str, Any]:
    """A line trace (`style`: any of Plotly's scatter attributes)."""
    return {"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name, **style}


def dns_chart(rows: Sequence[Row], events: Sequence[Event]) -> Figure:
    names = {
        DNS_REGIONAL_ADDRESSES: "dynamodb.us-east-1",
        DNS_IPV6_ADDRESSES: "dynamodb (ipv6)",
        DNS_FIPS_ADDRESSES: "dynamodb-fips",
    }
    x, values = series(rows, list(names))
    traces = [line(x, values[column], name, line={"shape": "hv"}) for column, name in names.items()]
    layout = chart_layout("DNS answers: addresses per name", rows, events, height=260)
    layout["yaxis"] = {"title": {"text": "addresses"}, "rangemode": "tozero"}
    return {"id": "dns", "data": traces, "layout": layout}


def clients_chart(rows: Sequence[Row], events: Sequence[Event]) -> Figure | None:
    if not has(rows, CLIENTS_LOGICAL):
        return None
    columns = [clients(o) for o in OUTCOMES] + [CLIENTS_ATTEMPTS]
    x, values = series(rows, columns)
    traces = [
        line(x, values[clients(o)], o, stackgroup="outcomes", line={"width": 0.5, "color": colour})
        for o, colour in OUTCOMES.items()
    ]
    traces.append(line(x, values[CLIENTS_ATTEMPTS], "attempts (with retries)", line={"color": "#000", "width": 1}))
    layout = chart_layout("Clients: logical requests per second by outcome", rows, events, height=320)
    layout["yaxis"] = {"title": {"text": "per second"}, "rangemode": "tozero"}
    return {"id": "clients", "data": traces, "layout": layout}


def service_chart(rows: Sequence[Row], events: Sequence[Event], prefix: str) -> Figure | None:
    """Offered load, goodput and errors by kind; latency p50/p99; queue and in flight: three panels, one x."""

    def column(measure: str) -> str:
        return node_column(prefix, measure)

    if not has(rows, column("arrivals")):
        return None
    counters = [column(c) for c in ("arrivals", "completed", *ERRORS)]
    levels = [column(QUEUE), column(IN_FLIGHT)]
    latencies = [c for c in (column(P50_MS), column(P99_MS)) if has(rows, c)]  # older runs: p99 only
    x, values = series(rows, counters + levels + latencies)
    goodput = [c - w for c, w in zip(values[column("completed")], values[column("wasted")], strict=True)]
    traces = [
        line(x, values[column("arrivals")], "offered", line={"color": "#34495e"}),
        line(x, goodput, "goodput", line={"color": "#2e9d57"}),
    ]
    for error in ERRORS:
        traces.append(line(x, values[column(error)], error, line={"color": ERROR_COLOURS[error], "width": 1}))
    for latency, name, colour in ((column(P50_MS), "p50 ms", "#5d6d7e"), (column(P99_MS), "p99 ms", "#a93226")):
        if latency in values:
            traces.append(line(x, values[latency], name, yaxis="y2", line={"color": colour}))
    traces.append(line(x, values[column(QUEUE)], "queue", yaxis="y3", line={"color": "#b7950b"}))
    traces.append(line(x, values[column(IN_FLIGHT)], "in flight", yaxis="y3", line={"color": "#1f618d"}))
    layout = chart_layout(SERVICES.get(prefix, f"{prefix} (declared in the scenario)"), rows, events, height=560)
    layout["yaxis"] = {"domain": [0.56, 1], "title": {"text": "per second"}, "rangemode": "tozero"}
    layout["yaxis2"] = {"domain": [0.3, 0.5], "title": {"text": "ms"}, "rangemode": "tozero", "anchor": "x"}
    layout["yaxis3"] = {"domain": [0, 0.24], "title": {"text": "requests"}, "rangemode": "tozero", "anchor": "x"}
    layout["legend"] = {"orientation": "h", "y": -0.06, "yanchor": "top"}
    return {"id": f"service-{prefix}", "data": traces, "layout": layout}


def dwfm_chart(rows: Sequence[Row], events: Sequence[Event]) -> Figure | None:
    if not has(rows, DWFM_LEASES):
        return None
    columns = [DWFM_LEASES, DWFM_QUEUE, DWFM_EXPIRED, DWFM_WASTED]
    extra = [LAMBDA_POLLER_BACKLOG] if has(rows, LAMBDA_POLLER_BACKLOG) else []
    x, values = series(rows, columns + extra)
    traces = [
        line(x, values[DWFM_LEASES], "leases held", line={"color": "#2e9d57", "width": 2}),
        line(x, values[DWFM_QUEUE], "work queue", line={"color": "#b7950b"}),
        line(x, values[DWFM_EXPIRED], "timed-out items / s", line={"color": "#8e44ad"}),
        line(x, values[DWFM_WASTED], "finished too late / s", line={"color": "#c0392b"}),
    ]
    if extra:
        backlog = line(x, values[LAMBDA_POLLER_BACKLOG], "Lambda poller backlog (right)", yaxis="y2")
        traces.append({**backlog, "line": {"color": "#7f8c8d", "dash": "dash"}})
    layout = chart_layout("DWFM: droplet leases, work queue and timeouts", rows, events, height=320)
    layout["yaxis"] = {"rangemode": "tozero"}
    layout["yaxis2"] = {"overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False}
    return {"id": "dwfm", "data": traces, "layout": layout}


def run_charts(rows: Sequence[Row], events: Sequence[Event]) -> list[Figure]:
    """Every chart of a run report, in the order the page shows them (those the run has data for)."""
    if not rows:
        return []
    charts: list[Figure | None] = [timeline(rows, events), dns_chart(rows, events), clients_chart(rows, events)]
    charts += [service_chart(rows, events, prefix) for prefix in SERVICES]
    declared = sorted({c.removesuffix("_arrivals") for c in rows[0] if c.endswith("_arrivals")} - set(SERVICES))
    charts += [service_chart(rows, events, prefix) for prefix in declared]  # the scenario's [[services]]
    charts.append(dwfm_chart(rows, events))
    return [c for c in charts if c is not None]
