"""The user's own program in a run's report (`cascadesim exec`, the pytest plugin): its calls as a series of their
own, and what the outage did to them.

Its calls per second by how they ended: at the nodes they reached (ok, throttled, server error, client error,
counted apart from the cloud's own clients: services/net/outside.py), plus those that never reached one because the
cloud's name had no address, or no name, or no resolver answered (scenarios/guest/app_hook/). And its share of
DynamoDB's arrivals in the second of the herd's peak after the repair.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reports.charts import OUTCOMES, has, line, series
from reports.columns import (
    APP_CALL_OUTCOMES,
    DNS_REGIONAL_ADDRESSES,
    DYNAMODB,
    DYNAMODB_ARRIVALS,
    LOOKUP_FAILURES,
    LOOKUP_OUTCOMES,
    SECOND,
    app_calls,
    app_lookups,
)
from reports.timeline import Figure, Row, chart_layout
from services.events import Event

NO_ADDRESS = "no address (DNS)"
DEFINITIONS = {
    "program_attempts": "Your program's attempts at calling the cloud (an SDK's retries count): those a node "
    "answered, and those that never reached one because DNS gave no address.",
    "program_failed_attempts": "Of those, the attempts that did not succeed (DNS gave no address, or a node answered "
    "with an error or a throttle).",
    "program_share_of_herd": "Your program's share of DynamoDB's arrivals in the busiest second after DNS came back "
    "(the herd's peak).",
}


def has_program(rows: Sequence[Row]) -> bool:
    return has(rows, app_lookups("answered")) or has(rows, app_calls(DYNAMODB, "ok"))


def _per_second(rows: Sequence[Row]) -> tuple[list[int], dict[str, list[float]]]:
    """The program's calls per second by outcome, summed over the nodes, and those DNS stopped."""
    present = _program_columns(rows)
    groups = {o: sorted(c for c in present if c.endswith(f"_{o}") and c not in LOOKUPS) for o in APP_CALL_OUTCOMES}
    groups[NO_ADDRESS] = [app_lookups(o) for o in LOOKUP_FAILURES if app_lookups(o) in present]
    x, values = series(rows, [column for columns in groups.values() for column in columns])
    return x, {
        name: [sum(v) for v in zip(*(values[c] for c in columns), strict=True)] if columns else [0.0] * len(x)
        for name, columns in groups.items()
    }


LOOKUPS = frozenset(app_lookups(o) for o in LOOKUP_OUTCOMES)


def _program_columns(rows: Sequence[Row]) -> set[str]:
    """The program's columns in any row: every node's calls (the built-in services' and the declared ones', whose
    nodes may start mid-run, behind an NLB) and its lookups."""
    return {column for row in rows for column in row if column.startswith("app_")}


def program_chart(rows: Sequence[Row], events: Sequence[Event]) -> Figure | None:
    if not rows or not has_program(rows):
        return None
    x, by_outcome = _per_second(rows)
    colours = {**{o: OUTCOMES[o] for o in APP_CALL_OUTCOMES}, NO_ADDRESS: OUTCOMES["dns"]}
    traces = [
        line(x, values, name, stackgroup="program", line={"width": 0.5, "color": colours[name]})
        for name, values in by_outcome.items()
    ]
    layout = chart_layout("Your program: its attempts per second by outcome (retries count)", rows, events, height=300)
    layout["yaxis"] = {"title": {"text": "attempts per second"}, "rangemode": "tozero"}
    return {"id": "program", "data": traces, "layout": layout}


def program_kpis(rows: Sequence[Row]) -> dict[str, Any]:
    """The KPIs of DEFINITIONS (None where the run had no program, or no repair)."""
    if not rows or not has_program(rows):
        return dict.fromkeys(DEFINITIONS)
    _, by_outcome = _per_second(rows)
    calls = sum(sum(v) for v in by_outcome.values())
    ok = sum(by_outcome["ok"])
    return {
        "program_attempts": int(calls),
        "program_failed_attempts": int(calls - ok),
        "program_share_of_herd": _share_of_herd(rows),
    }


def _share_of_herd(rows: Sequence[Row]) -> float | None:
    empty = [i for i, r in enumerate(rows) if r.get(DNS_REGIONAL_ADDRESSES, 1) == 0]
    if not empty or empty[-1] + 1 >= len(rows):
        return None
    after = rows[empty[-1] + 1 :]
    peak = max(after, key=lambda r: (r.get(DYNAMODB_ARRIVALS, 0), -int(r[SECOND])))
    arrivals = peak.get(DYNAMODB_ARRIVALS, 0)
    if not arrivals:
        return None
    own = sum(peak.get(app_calls(DYNAMODB, o), 0) for o in APP_CALL_OUTCOMES)
    return round(own / arrivals, 4)
