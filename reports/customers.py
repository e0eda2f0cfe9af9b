"""A customer's view of a run: how long each service they use failed, how long the incident lasted, and which
phases of AWS's timeline (the empty DNS record, DWFM's lost leases, the NLB's flapping, ...) happened at all.

A what-if comparison (one scenario run as several named variants) puts each variant's view beside the baseline's
(the first variant) and says what changed, in lines like "EC2 launches: 6 h 41 min of errors → 0 h 52 min".
Pure but for `variant_entry` and `customer_events`, which read a run directory; everything returned is JSON-ready.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from services.event_kinds import EventKind, OperatorKind
from services.events import Event, read_events

Span = list[float | None]  # [start, end]; an end of None: it went on to the end of the run

# The client kinds' names as a customer knows the services; a declared service not here is shown by its name.
LABELS = {
    "dynamodb": "DynamoDB",
    "ec2": "EC2 launches",
    "lambda": "Lambda",
    "sts": "STS",
    "redshift": "Redshift",
    "connect": "Connect",
}
FIRST = ("dynamodb", "ec2", "lambda")  # the services the incident is known by lead; the rest follow by name

# An NLB's target changes less than this apart are one stretch of flapping.
NLB_QUIET_S = 300.0
NLB_FLAPPING = EventKind.NLB_FLAPPING  # an NLB's flapping began (services/topology/nlb.py): a change of its stretch

# The phases of AWS's timeline, in its order: key → what a person calls it.
PHASES = {
    "dns_empty": "DNS record empty",
    "leases_lost": "DWFM leases lost",
    "dwfm_collapse": "DWFM congestive collapse",
    "launches_failing": "EC2 launches failing",
    "netmgr_backlog": "Network Manager backlog",
    "nlb_flapping": "NLB health checks flapping",
    "poller_stuck": "Lambda poller stuck",
}

# The kinds a customer's view reads (events.jsonl also holds the control plane's many routine steps).
READ = frozenset(
    {
        EventKind.RECORD_EMPTIED,
        EventKind.RECORD_FILLED,
        EventKind.LEASES_EXPIRING,
        EventKind.LEASES_RECOVERED,
        EventKind.DWFM_NO_PROGRESS,
        EventKind.LAUNCHES_FAILING,
        EventKind.LAUNCHES_RECOVERED,
        EventKind.PROPAGATION_BACKLOG,
        EventKind.PROPAGATION_BACKLOG_DRAINED,
        EventKind.NLB_TARGET_OUT,
        EventKind.NLB_TARGET_IN,
        NLB_FLAPPING,
        EventKind.POLLER_STUCK,
        EventKind.POLLER_RESTARTED,
        EventKind.OPERATOR_ACTION,
        EventKind.RUN_STOPPED,
        EventKind.RUN_INTERRUPTED,
        EventKind.RUN_FAILED,
        EventKind.PROGRAM_EXITED,
    }
)
ENDS = (EventKind.RUN_STOPPED, EventKind.RUN_INTERRUPTED, EventKind.RUN_FAILED, EventKind.PROGRAM_EXITED)


# --- words ------------------------------------------------------------------------------------------------------


def duration_text(seconds: float) -> str:
    """A length as a customer reads it: "45 s" under a minute, then hours and minutes ("0 h 52 min", "6 h 41 min").

    (reports/labels.py's `duration` says "52 min 0 s", which does not line up in a column of hours.)"""
    if seconds < 0:
        return f"−{duration_text(-seconds)}"
    if round(seconds) < 60:
        return f"{round(seconds)} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min"


def shown_seconds(seconds: float) -> int:
    """The seconds `duration_text` shows: to the second under a minute, else to the minute (so that a change
    between two shown lengths reads as their difference: 4 h 26 min → 0 h 52 min is −3 h 34 min)."""
    whole = round(abs(seconds))
    shown = whole if whole < 60 else round(abs(seconds) / 60) * 60
    return -shown if seconds < 0 else shown


def delta_text(seconds: float) -> str:
    """A change in length, signed: "−5 h 49 min", "+12 s"; "no change" when there is none."""
    if round(seconds) == 0:
        return "no change"
    return f"−{duration_text(-seconds)}" if seconds < 0 else f"+{duration_text(seconds)}"


def clock_text(seconds: float) -> str:
    """A moment of the run as hours and minutes since its start, the minute it falls in: 16001 s → "4:26"."""
    hours, minutes = divmod(int(seconds // 60), 60)
    return f"{hours}:{minutes:02d}"


def label_of(kind: str) -> str:
    """The service as a customer calls it."""
    return LABELS.get(kind, kind)


def service_order(kinds: Iterable[str]) -> list[str]:
    """DynamoDB, EC2 launches, Lambda, then the rest by name (each once)."""
    unique = set(kinds)
    return [k for k in FIRST if k in unique] + sorted(unique - set(FIRST), key=lambda k: (label_of(k).lower(), k))


# --- the view ---------------------------------------------------------------------------------------------------


def customer_view(kpis: Mapping[str, Any], events: Sequence[Event]) -> dict[str, Any]:
    """One run as its customers saw it: per service its error windows and their total; the incident's first and
    last second of errors; each phase's spans (none: it did not happen); the operator actions taken; and `end_s`,
    the run's last second (where a span that never ended stops)."""
    windows = kpis.get("error_windows") or {}
    kinds = service_order([*windows, *(kpis.get("slo_violation_minutes") or {})])
    services = [_service(kind, windows.get(kind) or []) for kind in kinds]
    starts = [s["first_s"] for s in services if s["first_s"] is not None]
    ends = [s["last_s"] for s in services if s["last_s"] is not None]
    first, last = (min(starts), max(ends)) if starts else (None, None)
    end = _run_end(events, ends)
    phases = {key: _phase(label, spans, end) for key, (label, spans) in _phase_spans(events).items()}
    actions = [{"action": e.data.get("action"), "t": e.t} for e in events if e.kind == EventKind.OPERATOR_ACTION]
    return {
        "services": services,
        "incident": {
            "first_s": first,
            "last_s": last,
            "length_s": None if first is None or last is None else last - first,
        },
        "phases": phases,
        "actions": actions,
        "end_s": end,
    }


def _service(kind: str, windows: Sequence[Sequence[float]]) -> dict[str, Any]:
    spans = [[start, end] for start, end in windows]
    return {
        "kind": kind,
        "label": label_of(kind),
        "windows": spans,
        "error_s": sum(end - start for start, end in spans),
        "first_s": min((start for start, _ in spans), default=None),
        "last_s": max((end for _, end in spans), default=None),
    }


def _run_end(events: Sequence[Event], ends: Sequence[float]) -> float | None:
    """The run's last second: when it stopped, else its last event or error (None for nothing at all)."""
    stopped = [e.t for e in events if e.kind in ENDS]
    if stopped:
        return max(stopped)
    seen = [*(e.t for e in events), *ends]
    return max(seen) if seen else None


def _phase(label: str, spans: list[Span], end: float | None) -> dict[str, Any]:
    """A phase: its spans, and how long they lasted together (an open span up to the run's end)."""
    length = 0.0
    for start, stop in spans:
        assert start is not None
        stop = stop if stop is not None else end
        length += max(0.0, (stop if stop is not None else start) - start)
    return {"label": label, "spans": spans, "length_s": round(length, 3) if spans else None}


def _phase_spans(events: Sequence[Event]) -> dict[str, tuple[str, list[Span]]]:
    def restarts_poller(e: Event) -> bool:
        return e.kind == EventKind.POLLER_RESTARTED or (
            e.kind == EventKind.OPERATOR_ACTION and e.data.get("action") == OperatorKind.RESTART_POLLER
        )

    def by_source(e: Event) -> str:
        return e.source

    spans = {
        "dns_empty": _merged(
            _paired(
                [e for e in events if _dynamodb_record(e) is not None],
                lambda e: e.kind == EventKind.RECORD_EMPTIED,
                lambda e: e.kind == EventKind.RECORD_FILLED,
                lambda e: _dynamodb_record(e) or "",
            )
        ),
        "leases_lost": _merged(
            _paired(events, _is(EventKind.LEASES_EXPIRING), _is(EventKind.LEASES_RECOVERED), by_source)
        ),
        "dwfm_collapse": _merged(
            _paired(events, _is(EventKind.DWFM_NO_PROGRESS), _is(EventKind.LEASES_RECOVERED), by_source)
        ),
        "launches_failing": _merged(
            _paired(events, _is(EventKind.LAUNCHES_FAILING), _is(EventKind.LAUNCHES_RECOVERED), by_source)
        ),
        "netmgr_backlog": _merged(
            _paired(events, _is(EventKind.PROPAGATION_BACKLOG), _is(EventKind.PROPAGATION_BACKLOG_DRAINED), by_source)
        ),
        "nlb_flapping": _flapping(events),
        "poller_stuck": _paired(events, _is(EventKind.POLLER_STUCK), restarts_poller, lambda e: ""),
    }
    return {key: (PHASES[key], spans[key]) for key in PHASES}


def _is(kind: str) -> Callable[[Event], bool]:
    return lambda e: e.kind == kind


def _dynamodb_record(event: Event) -> str | None:
    """The DynamoDB name a record_emptied/record_filled event is about (None: another event, or another name)."""
    if event.kind not in (EventKind.RECORD_EMPTIED, EventKind.RECORD_FILLED):
        return None
    name = str(event.data.get("name") or (event.message.split() or [""])[0])
    return name if "dynamodb" in name.lower() else None


def _paired(
    events: Sequence[Event],
    starts: Callable[[Event], bool],
    ends: Callable[[Event], bool],
    key: Callable[[Event], str],
) -> list[Span]:
    """Each stretch from a start to the next end of the same key (a start while one is open changes nothing; a
    start never ended has the end None), in order of start."""
    open_at: dict[str, float] = {}
    spans: list[Span] = []
    for event in sorted(events, key=lambda e: e.t):
        name = key(event)
        if starts(event):
            open_at.setdefault(name, event.t)
        elif ends(event) and name in open_at:
            spans.append([open_at.pop(name), event.t])
    spans.extend([start, None] for start in open_at.values())
    return sorted(spans, key=lambda span: span[0] or 0.0)


def _merged(spans: list[Span]) -> list[Span]:
    """Overlapping (or touching) spans as one; an open span swallows every one that starts after it."""
    merged: list[Span] = []
    for start, end in sorted(spans, key=lambda span: span[0] or 0.0):
        assert start is not None
        if merged:
            last_end = merged[-1][1]
            if last_end is None:
                continue
            if start <= last_end:
                merged[-1][1] = None if end is None else max(last_end, end)
                continue
        merged.append([start, end])
    return merged


def _flapping(events: Sequence[Event]) -> list[Span]:
    """The NLB's stretches of flapping: from a target taken out of service to the last change (in or out) less than
    NLB_QUIET_S after the one before."""
    spans: list[Span] = []
    last: float | None = None
    for event in sorted(events, key=lambda e: e.t):
        if event.kind not in (EventKind.NLB_TARGET_OUT, EventKind.NLB_TARGET_IN, NLB_FLAPPING):
            continue
        if last is not None and event.t - last < NLB_QUIET_S:
            spans[-1][1] = last = event.t
        elif event.kind != EventKind.NLB_TARGET_IN:  # a stretch begins with a target out (or a flapping mark)
            spans.append([event.t, event.t])
            last = event.t
    return spans


# --- the differences --------------------------------------------------------------------------------------------


def differences(baseline: Mapping[str, Any], view: Mapping[str, Any]) -> list[str]:
    """What changed from the baseline's view to `view`: one line per service either has, the incident's length,
    and each phase that happened in one but not the other."""
    before = {s["kind"]: s for s in baseline.get("services", [])}
    after = {s["kind"]: s for s in view.get("services", [])}
    lines = []
    for kind in service_order([*before, *after]):
        was, now = before.get(kind), after.get(kind)
        lines.append(f"{label_of(kind)}: {_errors(was, first=True)} → {_errors(now, first=was is None)}")
    was_length = (baseline.get("incident") or {}).get("length_s")
    now_length = (view.get("incident") or {}).get("length_s")
    if was_length is not None or now_length is not None:
        lines.append(f"Incident length: {_length(was_length)} → {_length(now_length)}")
    before_phases, after_phases = baseline.get("phases") or {}, view.get("phases") or {}
    for key in [*PHASES, *sorted((set(before_phases) | set(after_phases)) - set(PHASES))]:
        was_phase, now_phase = before_phases.get(key) or {}, after_phases.get(key) or {}
        happened = bool(was_phase.get("spans")), bool(now_phase.get("spans"))
        if happened[0] != happened[1]:
            label = was_phase.get("label") or now_phase.get("label") or PHASES.get(key, key)
            lines.append(f"{label}: {_phase_text(was_phase)} → {_phase_text(now_phase)}")
    return lines


def _errors(service: Mapping[str, Any] | None, *, first: bool) -> str:
    if service is None:
        return "not measured"
    if not service.get("error_s"):
        return "no errors"
    return duration_text(service["error_s"]) + (" of errors" if first else "")


def _length(seconds: float | None) -> str:
    return "no errors" if seconds is None else duration_text(seconds)


def _phase_text(phase: Mapping[str, Any]) -> str:
    if not phase.get("spans"):
        return "did not happen"
    return duration_text(phase.get("length_s") or 0)


# --- a what-if comparison's variant -----------------------------------------------------------------------------


def customer_events(directory: Path) -> list[Event]:
    """The events of a run directory that a customer's view reads (none when it has no events.jsonl)."""
    path = directory / "events.jsonl"
    return read_events(path, keep=lambda kind: kind in READ) if path.is_file() else []


def variant_entry(
    name: str,
    sentence: str,
    settings: Mapping[str, Any],
    directory: Path,
    kpis: Mapping[str, Any],
    baseline_view: dict[str, Any] | None,
) -> dict[str, Any]:
    """A variant as comparison.json lists it: what it changes, its run directory (by name: it lies beside
    comparison.json), its customers' view and what changed from the baseline's (nothing, for the baseline)."""
    view = customer_view(kpis, customer_events(directory))
    return {
        "name": name,
        "sentence": sentence,
        "set": dict(settings),
        "directory": directory.name,
        "customers": view,
        "differences": [] if baseline_view is None else differences(baseline_view, view),
    }
