"""A run's report.html, rendered from its run directory alone (so `cascadesim report RUN_DIR` re-renders any run).

Jinja2 with autoescaping on: every name, description and message from a scenario or an event is shown as text,
never run as markup or script.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from services.events import Event, read_events

NOTABLE = {
    "fault_start",
    "fault_end",
    "operator_action",
    "record_emptied",
    "record_filled",
    "dynamodb_unreachable",
    "leases_expiring",
    "launches_failing",
    "launches_recovered",
    "dwfm_no_progress",
    "leases_recovered",
    "poller_stuck",
    "invocations_failing",
    "invocations_recovered",
    "propagation_backlog",
    "propagation_backlog_drained",
    "locust_exited",
    "run_interrupted",
    "run_failed",
}

_environment = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(default=True))


def render_run(directory: Path) -> Path:
    """Write `directory`/report.html from the run's saved files; returns its path."""
    meta = _json(directory / "meta.json")
    kpis = _json(directory / "kpis.json")
    events_path = directory / "events.jsonl"
    events: list[Event] = read_events(events_path) if events_path.is_file() else []
    page = _environment.get_template("run.html").render(
        meta=meta,
        kpis=kpis.get("kpis", {}),
        definitions=kpis.get("definitions", {}),
        timeline=[e for e in events if e.kind in NOTABLE],
        locust_report=(directory / "locust" / "report.html").is_file(),
        show=_show,
    )
    path = directory / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _show(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) or "–"
    if isinstance(value, list):
        return "; ".join(_show(v) for v in value) or "–"
    return str(value)
