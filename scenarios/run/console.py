"""How a run looks in the terminal: the table of listeners, the stream of events and the KPIs at the end."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from reports.comparison import what_if_tables
from reports.labels import reading, title_of
from scenarios.run.listing import Field, Listing
from services.event_kinds import CONTROL_PLANE_STEPS, EventKind
from services.events import Event
from services.topology.cloud import Listener

# What stands out in the stream; everything else prints plain.
STYLES: dict[str, str] = {
    EventKind.RECORD_EMPTIED: "bold red",
    EventKind.RECORD_FILLED: "bold green",
    EventKind.APPLY_BLOCKED: "yellow",
    EventKind.CLEANUP: "magenta",
    EventKind.FAULT_START: "bold cyan",
    EventKind.FAULT_END: "cyan",
    EventKind.OPERATOR_ACTION: "bold green",
    EventKind.PLANNER_FAIL_OPEN: "yellow",
}
# The Enactors' waits and picks, several a second: hidden unless --verbose (they are always in events.jsonl).
VERBOSE_ONLY = {EventKind.ENDPOINT_HELD, EventKind.ENACTOR_PICKED}


def listeners_table(listeners: Iterable[Listener]) -> Listing:
    table = Listing("cascadesim is listening on", [Field("node", "name"), Field("proto"), Field("address")])
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

    def __init__(self, console: Console, *, verbose: bool = False, quiet: bool = False) -> None:
        self._console = console
        self._verbose = verbose
        self._skip = (CONTROL_PLANE_STEPS if quiet else VERBOSE_ONLY) if not verbose else frozenset()

    def __call__(self, event: Event) -> None:
        """Print `event`, unless it is routine: with `quiet`, every step of the DNS control plane is."""
        if event.kind in self._skip:
            return
        style = STYLES.get(event.kind)
        if event.kind == EventKind.PLAN_APPLIED and event.data.get("newest", 0) - event.data.get("generation", 0) > 3:
            style = "bold yellow"
        line = f"[dim]{event.t:8.2f}s[/dim] {event.source:<10} "
        message = event.message.replace("[", r"\[")
        self._console.print(
            line + (f"[{style}]{message}[/{style}]" if style else message), highlight=False, soft_wrap=True
        )


def kpi_table(rows: list[tuple[str, dict[str, Any]]], *, title: str) -> Listing:
    """The KPIs as rows and a column per policy set (or run): the KPIs are few, the policy sets grow with a compare."""
    table = Listing(title, [Field("KPI", "name"), *(Field(name, "text") for name, _ in rows)])
    for key in TERMINAL_KPIS:
        table.add_row(title_of(key), *(_shown(key, kpis) for _, kpis in rows))
    return table


def _shown(key: str, kpis: dict[str, Any]) -> str:
    """The KPI as a person reads it; an empty one says why ("– no fault")."""
    value = kpis.get(key)
    if value is not None:
        return reading(key, value)
    why = (kpis.get("why_empty") or {}).get(key)
    return f"– {why}" if why else "–"


def verdict_line(kpis: dict[str, Any]) -> str | None:
    """The verdict in a sentence, for the end of a run (None for a kpis.json from before verdicts)."""
    said = kpis.get("verdict_sentence")
    return None if said is None else f"verdict: {said}"


# The KPIs printed after a run; the report has them all (trigger times and fault episodes too).
TERMINAL_KPIS = (
    "verdict",
    "decided_at_s",
    "dns_empty_seconds",
    "time_to_recover_s",
    "metastable",
    "peak_dynamodb_over_baseline",
    "retry_amplification",
    "wasted_share",
    "lease_recovery_s",
    "slo_violation_minutes",
)


def customer_table(variants: list[dict[str, Any]], baseline: str) -> Table:
    """What a what-if comparison's customers saw: a row per variant (the baseline's first), a column per service
    and one for the incident's length; each cell the time in errors and, beside the baseline, the change under it
    (compact, "7h58m" and "−5h21m", so that eight variants fit a terminal's width)."""
    tables = what_if_tables({"variants": variants, "baseline": baseline})
    table = Table(
        title="What the customers saw: time in errors (change from the baseline, the first row)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("variant", no_wrap=True)
    if tables is None:
        return table
    columns = [(row["label"], row["cells"]) for row in tables["services"]] + [("incident", tables["incident"])]
    for label, _ in columns:
        table.add_column(label, overflow="fold", min_width=6)
    for i, variant in enumerate(tables["variants"]):
        table.add_row(str(variant.get("name", "?")), *(_customer_cell(cells[i]) for _, cells in columns))
    return table


def _compact(text: str) -> str:
    """ "7 h 58 min" as "7h58m", "no errors" as "none", "no change" as "="."""
    shown = text.replace(" h ", "h").replace(" min", "m").replace(" s", "s")
    return {"no errors": "none", "no change": "="}.get(text, shown)


def _customer_cell(cell: dict[str, Any]) -> Text:
    shown = Text(_compact(cell["value"]))
    if cell["delta"]:
        style = {"better": "green", "worse": "red"}.get(cell["change"], "dim")
        shown.append("\n" + _compact(cell["delta"]), style=style)
    return shown
