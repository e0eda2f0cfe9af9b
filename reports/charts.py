"""A report's charts as Plotly figure specs (plain, JSON-ready dicts) built from a run's saved rows and events.

Pure: rows and events in, figures out; the page draws them with the Plotly bundle it carries. A long run is cut
into at most MAX_POINTS buckets per series. A bucket takes the mean of a rate (a per-second count) and the
extreme of a level, so a 14-hour run stays small and one second of an empty DNS record still shows.

Every string that comes from a scenario, a policy set or an event is HTML-escaped before it reaches Plotly,
whose labels understand a few tags: a name is shown as text, never as markup. The fault timeline that every chart
carries, and the timeline chart itself, are in reports/timeline.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
    clients,
    node_column,
)
from reports.timeline import Figure, Row, chart_layout, timeline
from services.events import Event

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


# --- charts -----------------------------------------------------------------------------------------------------


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
