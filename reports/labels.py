"""How each KPI reads to a person: a title, and its value with a unit (`28 s`, `13×`, `4.3 %`, `yes`).

One mapping, used by the run report's cards, the comparison's table and the KPI table in the terminal; the raw keys
(those of reports/kpis.py's DEFINITIONS, and of kpis.json) stay in small print beside the titles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


def number(value: float) -> str:
    """Three significant figures and never an exponent: 0.0123, 4.5, 13, 2970."""
    if value and abs(value) < 0.01:
        return "< 0.01" if value > 0 else "> -0.01"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def duration(seconds: float) -> str:
    """Seconds up to two minutes, then minutes and seconds, then hours and minutes: 28 s, 4 min 10 s, 3 h 5 min."""
    if abs(seconds) < 120:
        return f"{number(seconds)} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def times(value: float) -> str:
    return f"{number(value)}×"


def percent(share: float) -> str:
    return f"{number(share * 100)} %"


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def minutes_per_kind(value: Mapping[str, float]) -> str:
    return ", ".join(f"{kind} {number(minutes)} min" for kind, minutes in value.items()) or "–"


def episodes(value: list[Mapping[str, Any]]) -> str:
    """Each fault window and how long the services took to come back after it (or that they did not)."""
    shown = []
    for episode in value:
        after = episode.get("recovered_after_s")
        back = "not back" if after is None else f"back after {duration(after)}"
        shown.append(f"{duration(episode['start'])} to {duration(episode['end'])}: {back}")
    return "; ".join(shown) or "–"


def per_kind_duration(value: Mapping[str, float | None]) -> str:
    return ", ".join(f"{kind} {'not back' if t is None else duration(t)}" for kind, t in value.items()) or "–"


def windows_per_kind(value: Mapping[str, list[list[float]]]) -> str:
    """Each kind's error windows: `dynamodb 17–52 s; shop 18–55 s, 60–64 s`."""
    shown = [
        f"{kind} " + (", ".join(f"{number(a)}–{number(b)} s" for a, b in spans) or "none")
        for kind, spans in value.items()
    ]
    return "; ".join(shown) or "–"


def effect(value: Mapping[str, Any]) -> str:
    """The sustaining effect in a few words: its loop and its main figures."""
    figures = [
        f"{name} {percent(value[key])}"
        for name, key in (("retries", "retry_share"), ("wasted", "wasted_share"), ("expired", "expired_share"))
        if value.get(key) is not None
    ]
    figures.append(f"queue {number(value.get('queue_mean') or 0)}")
    return f"{value.get('loop') or 'no loop'}: {', '.join(figures)}"


def pushed(value: Mapping[str, Any]) -> str:
    """When a stuck run came back, and after which operator actions."""
    actions = ", ".join(str(a["action"]) for a in value.get("actions", [])) or "no operator action"
    return f"at {number(value['recovered_at_s'])} s, after {actions}"


def reasons(value: Mapping[str, str]) -> str:
    return "; ".join(f"{title_of(key)}: {why}" for key, why in value.items()) or "–"


def _seconds(value: int) -> str:
    return f"{value:,} s"


def _count(value: int) -> str:
    return f"{value:,}"


@dataclass(frozen=True)
class Label:
    title: str
    shows: Callable[[Any], str]


LABELS = {
    "verdict": Label("Verdict", str),
    "verdict_sentence": Label("Why", str),
    "decided_at_s": Label("Decided at", lambda at: f"{number(at)} s into the run"),
    "horizon_s": Label("Horizon", duration),
    "horizon_basis": Label("Horizon from", str),
    "sustaining_effect": Label("Sustaining effect", effect),
    "pushed_back": Label("Brought back", pushed),
    "dns_empty_seconds": Label("DNS empty", duration),
    "trigger_start": Label("Fault began at", duration),
    "trigger_end": Label("Fault ended at", duration),
    "time_to_recover_s": Label("Time to recover", duration),
    "metastable": Label("Metastable", yes_no),
    "peak_dynamodb_over_baseline": Label("DynamoDB herd peak", times),
    "retry_amplification": Label("Attempts per request", times),
    "retry_amplification_during_fault": Label("Attempts per request in the fault", times),
    "wasted_share": Label("Wasted work", percent),
    "lease_recovery_s": Label("Leases back after", duration),
    "episodes": Label("Fault episodes", episodes),
    "slo_violation_minutes": Label("Minutes below the SLO", minutes_per_kind),
    "time_to_recover_by_kind": Label("Back after, by kind", per_kind_duration),
    "error_windows": Label("Error windows", windows_per_kind),
    "saturated_seconds": Label("Machine saturated", _seconds),
    "operation_error_windows": Label("Error windows by operation", windows_per_kind),
    "program_attempts": Label("Your program's attempts", _count),
    "program_failed_attempts": Label("Your program's failed attempts", _count),
    "program_share_of_herd": Label("Your program's share of the herd", percent),
    "why_empty": Label("Why empty", reasons),
}


def title_of(key: str) -> str:
    """The KPI's title (a key this version does not know, e.g. from an older kpis.json, is its own title)."""
    label = LABELS.get(key)
    return label.title if label else key


def reading(key: str, value: Any) -> str:
    """The KPI's value as a person reads it, with its unit; "–" where the run could not say."""
    if value is None:
        return "–"
    label = LABELS.get(key)
    return label.shows(value) if label else _plain(value)


def in_order(kpis: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The KPIs in the order of LABELS (the story's: the outage, the recovery, the cost), unknown keys last."""
    rank = {key: i for i, key in enumerate(LABELS)}
    return sorted(kpis.items(), key=lambda item: rank.get(item[0], len(rank)))


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, int | float):
        return number(value)
    return str(value)
