"""How a run looks in the terminal: the table of listeners and the stream of events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

from services.cloud import Listener
from services.events import Event

# What stands out in the stream; everything else prints plain.
STYLES = {
    "record_emptied": "bold red",
    "record_filled": "bold green",
    "apply_blocked": "yellow",
    "cleanup": "magenta",
    "fault_start": "bold cyan",
    "fault_end": "cyan",
    "operator_action": "bold green",
    "planner_fail_open": "yellow",
}
# Routine chatter hidden unless --verbose (it is always in events.jsonl).
ROUTINE = {"endpoint_held", "enactor_picked"}


def listeners_table(listeners: Iterable[Listener]) -> Table:
    table = Table(title="cascadesim is listening on", title_justify="left")
    table.add_column("node")
    table.add_column("proto")
    table.add_column("address")
    for listener in listeners:
        host, port = listener.address
        table.add_row(listener.role, listener.protocol, f"{host}:{port}")
    return table


def try_it(listeners: Iterable[Listener]) -> str:
    """A command to poke each kind of listener with, for the user to paste."""
    hints = []
    for listener in listeners:
        host, port = listener.address
        if listener.role == "shared resolver":
            hints.append(f"dig @{host} -p {port} dynamodb.us-east-1.cloud.test A")
        elif listener.protocol == "http" and not any("curl" in h for h in hints):
            hints.append(f"curl http://{host}:{port}/health")
    return "try: " + "   |   ".join(hints)


class EventPrinter:
    """Prints each event as one line: simulated time, source, message."""

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        self._console = console
        self._verbose = verbose

    def __call__(self, event: Event) -> None:
        if event.kind in ROUTINE and not self._verbose:
            return
        style = STYLES.get(event.kind)
        if event.kind == "plan_applied" and event.data.get("newest", 0) - event.data.get("generation", 0) > 3:
            style = "bold yellow"
        line = f"[dim]{event.t:8.2f}s[/dim] {event.source:<10} "
        message = event.message.replace("[", r"\[")
        self._console.print(
            line + (f"[{style}]{message}[/{style}]" if style else message), highlight=False, soft_wrap=True
        )


def kpi_table(rows: list[tuple[str, dict[str, Any]]], *, title: str) -> Table:
    """KPIs, one row per policy set (or per run)."""
    table = Table(title=title, title_justify="left")
    table.add_column("policy")
    for column in KPI_COLUMNS.values():
        table.add_column(column, justify="right")
    for name, kpis in rows:
        table.add_row(name, *(_kpi_text(kpis.get(key)) for key in KPI_COLUMNS))
    return table


KPI_COLUMNS = {
    "dns_empty_seconds": "DNS empty s",
    "time_to_recover_s": "recovery s",
    "metastable": "metastable",
    "peak_dynamodb_over_baseline": "herd ×",
    "retry_amplification": "attempts/req",
    "wasted_share": "wasted",
    "lease_recovery_s": "leases back s",
    "slo_violation_minutes": "SLO-bad min (worst)",
}


def _kpi_text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):  # per service: the worst
        return f"{max(value.values())} ({max(value, key=value.__getitem__)})" if value else "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
