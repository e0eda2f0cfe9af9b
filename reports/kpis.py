"""The KPIs of a run, computed from its saved time series and events alone (pure: no I/O, no clock).

The trigger is the fault: from the first fault (or the first second DNS had no address for DynamoDB) to the end
of the last fault window or the DNS repair, whichever is later. Goodput is the clients' successful requests per
second, per service they use (or, in a run without clients, DynamoDB's completed requests). Its pre-fault level
is its mean over the loaded seconds before the first harm (DNS empty, or a fault on capacity or load).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reports.columns import (
    CLIENTS_ATTEMPTS,
    CLIENTS_LOGICAL,
    DNS_REGIONAL_ADDRESSES,
    DWFM_COMPLETED,
    DWFM_LEASES,
    DWFM_WASTED,
    DYNAMODB_ARRIVALS,
    DYNAMODB_COMPLETED,
    DYNAMODB_WASTED,
    HARNESS,
    HARNESS_CLOUD_LAG_MS,
    LOGICAL,
    OK,
    SECOND,
    client_kinds,
    clients_of,
    operation_column,
    operations,
)
from reports.empty import why_empty
from reports.sustaining import measure
from reports.verdict import (
    FAULT_TO_END,
    HOLD_SECONDS,
    NO_FAULT,
    NO_GOODPUT,
    RECOVERED,
    RECOVERED_SHARE,
    STUCK,
    Decision,
    Horizon,
    Level,
    decide,
    pushed_back,
    recovery,
    sentence,
)
from services.event_kinds import EventKind, FaultKind
from services.events import Event

Row = Mapping[str, float | int]

SMOOTHING_SECONDS = 10
SLO_SUCCESS = 0.99
ERROR_SHARE = 0.5  # a second in which under half a kind's requests succeed is in an error window
MIN_WINDOW_SECONDS = 3
LAG_LIMIT_MS = 100.0  # a live process whose once-a-second timer fires this late, two seconds running, is swamped
CPU_LIMIT = 0.9  # ... or that uses this share of a core: Locust's own warning ("CPU usage above 90%!")
JOIN_SECONDS = 20  # error spans this close are one window: a lull of a few DNS TTLs does not end an outage
JOIN_SHARE = 0.005  # ... or this share of the run, if longer: an error window of hours is not cut by a lucky minute
MIN_WINDOW_SHARE = 0.002

NO_CONSTANTS = Horizon()  # a run whose time constants nobody gave: the minimum horizon

HARMLESS = {FaultKind.ENACTOR_DELAY, FaultKind.PLANNER_CHURN}  # they change conditions, not capacity or load

DEFINITIONS = {
    "dns_empty_seconds": "Seconds during which DynamoDB's regional name had no address (DNS answered NODATA).",
    "trigger_start": "When the fault began: the first fault window, or the first second DNS was empty.",
    "trigger_end": "When the fault ended: the end of the last fault window or the DNS repair, whichever is later.",
    "verdict": "After the trigger ended: recovered, stuck (metastable) or undecided (also: no fault, fault to the "
    "end, no goodput). Decided at the first second where either holds: recovered (time_to_recover_s's rule), or "
    "stuck: horizon_s has passed since the trigger's end and over its last half the worst service's success share "
    f"is under {RECOVERED_SHARE:.0%} of its pre-fault level and, at its trend, would still be a further horizon on. "
    "A virtual run goes on past its written end until the verdict is decided, up to verdict_cap.",
    "why_empty": "For each KPI left empty, why, in words (no fault, not recovered by the end, not confirmed …).",
    "verdict_sentence": "The verdict in words, with the figures of the sustaining effect behind it.",
    "decided_at_s": "The second the verdict was decided at (past the written end if the run was extended).",
    "horizon_s": "How long a degraded state must last, not coming back, to be called stuck: ten times the system's "
    "longest time constant (its timeouts, backoff caps, TTLs, leases), at least 120 s; horizon_basis says which.",
    "horizon_basis": "The time constant the horizon was taken from.",
    "pushed_back": "A stuck run that came back later in the run: the second every service was back (held "
    f"{HOLD_SECONDS} s), and the operators' actions after the trigger's end that came before it (the strong "
    "corrective push a metastable failure needs).",
    "sustaining_effect": "What kept the system down (or slowed its recovery), measured over the seconds the verdict "
    "looked at: the share of attempts that were retries, of work wasted or expired, DynamoDB's load over its "
    "baseline and its queues, failures on DNS; and the loop they point to (reports/sustaining.py).",
    "time_to_recover_s": f"Seconds from the trigger's end until, for every service the clients use, the share of "
    f"requests that succeed ({SMOOTHING_SECONDS}-s window) is back to ≥ {RECOVERED_SHARE:.0%} of its pre-fault "
    f"level and holds there for {HOLD_SECONDS} s; empty unless the verdict is recovered (why_empty says why).",
    "metastable": "Whether the verdict is stuck: yes if stuck, no if recovered, empty if undecided or no fault.",
    "peak_dynamodb_over_baseline": "Peak DynamoDB arrivals per second after the trigger ended, over their "
    "pre-fault mean: the herd.",
    "retry_amplification": "Client attempts per logical request over the whole run.",
    "retry_amplification_during_fault": "Client attempts per logical request while the trigger lasted.",
    "wasted_share": "Work completed after its caller's deadline had passed, as a share of all completed work "
    "(DynamoDB routers and DWFM).",
    "lease_recovery_s": "Seconds from the trigger's end until DWFM holds leases on ≥ 95% of droplets again.",
    "episodes": "Each fault window (overlapping ones merged, a DNS outage counting as one) with the seconds from "
    "its end until the services recovered (as for time_to_recover_s), before the next one began; empty if they "
    "did not.",
    "slo_violation_minutes": f"Per client kind, minutes in which under {SLO_SUCCESS:.0%} of logical requests "
    "succeeded.",
    "time_to_recover_by_kind": "Per client kind (a service the clients use), time_to_recover_s for that kind alone.",
    "saturated_seconds": f"Live runs: seconds in which this machine, not the model, was the limit: the cloud's or a "
    f"Locust process's CPU at {CPU_LIMIT:.0%} of a core or more, or its event loop {LAG_LIMIT_MS:.0f} ms late or "
    "more in that second and the one before or after (service times stretch, so queues and errors then belong to "
    "the machine; a lone late second, a garbage collection or the OS running something else for a moment, is "
    "not counted). None in virtual time.",
    "operation_error_windows": "Per operation of a declared service ([[services]]), as error_windows but from the "
    "service's own answers (ok, or failed: throttled or a call that failed).",
    "error_windows": f"Per client kind, the spans [start, end] in seconds during which under {ERROR_SHARE:.0%} of its "
    f"logical requests succeeded, spans at most {JOIN_SECONDS} s or {JOIN_SHARE:.1%} of the run apart joined "
    f"(whichever is longer), spans shorter than {MIN_WINDOW_SECONDS} s or {MIN_WINDOW_SHARE:.1%} of the run left "
    "out (so that an outage of hours is summarised as a live run of minutes is).",
}


@dataclass
class Assessment:
    """What the KPIs and the verdict are computed from: the trigger, the pre-fault levels, and the verdict."""

    seconds: list[int]
    empty: list[int]
    refill: int | None
    trigger_start: float | None
    trigger_end: float | None
    trigger: str  # what the trigger was, in words ("load spike", "DNS outage")
    kinds: list[str]
    levels: list[Level]
    arrivals: list[float]
    arrivals_baseline: float
    decision: Decision


def assess(rows: Sequence[Row], events: Sequence[Event], horizon: Horizon) -> Assessment:
    """The trigger, every service's level before it, and the verdict after it (rows must not be empty)."""
    seconds = [int(r[SECOND]) for r in rows]
    empty = [int(r[SECOND]) for r in rows if r.get(DNS_REGIONAL_ADDRESSES, 1) == 0]
    starts = [e.t for e in events if e.kind == EventKind.FAULT_START] + ([empty[0] - 1] if empty else [])
    ends = [(e.t, str(e.data.get("fault", "fault"))) for e in events if e.kind == EventKind.FAULT_END]
    refill = next((s for s in seconds if empty and s > empty[0] and s not in set(empty)), None)
    ends += [(refill - 1, "DNS outage")] if refill is not None else []
    trigger_start = min(starts) if starts else None
    last = max(ends) if ends and trigger_start is not None else None
    trigger_end = None if last is None or (empty and refill is None) else last[0]  # DNS never came back: None
    trigger = "fault" if last is None else last[1].replace("_", " ")
    # The pre-fault level ends where harm begins: DNS going empty, or a fault that hits capacity or load directly
    # (an Enactor delay or Planner churn alone harms nothing).
    harmful = [e.t for e in events if e.kind == EventKind.FAULT_START and e.data.get("fault") not in HARMLESS]
    impact = min(harmful + ([empty[0] - 1] if empty else []), default=None)

    # Goodput per service the clients use (or DynamoDB's completions without clients): every one must recover.
    # Each is a pair of columns: the requests that succeeded, and (for clients) the logical requests made.
    kinds = client_kinds(rows[0])
    keys = [(clients_of(kind, OK), clients_of(kind, LOGICAL)) for kind in kinds] or [(DYNAMODB_COMPLETED, "")]
    arrivals = [float(r.get(DYNAMODB_ARRIVALS, 0)) for r in rows]
    before = [i for i, s in enumerate(seconds) if impact is None or s <= impact]
    total = [sum(float(r.get(k, 0)) for k, _ in keys) for r in rows]
    loaded = [i for i in before if total[i] > 0]
    loaded = loaded[len(loaded) // 5 :]  # past the ramp-up
    arrivals_baseline = sum(arrivals[i] for i in loaded) / len(loaded) if loaded else 0.0
    levels: list[Level] = []  # per client kind (or "" for DynamoDB): smoothed share, baseline
    for (key, asked_key), kind in zip(keys, kinds or [""], strict=True) if loaded else ():
        # Clients: the share of logical requests that succeed (closed-loop users keep asking at their own
        # pace, so the share is what falls and comes back); without clients, DynamoDB's completions.
        ok = [float(r.get(key, 0)) for r in rows]
        asked = [float(r.get(asked_key, 0)) for r in rows] if kinds else [1.0] * len(rows)
        base_ok, base_asked = sum(ok[i] for i in loaded), sum(asked[i] for i in loaded)
        if base_asked > 0 and base_ok > 0:
            levels.append(Level(kind, _windowed(ok, asked), base_ok / base_asked, _windowed(asked, [1.0] * len(rows))))
    if trigger_start is None:
        decision = Decision(NO_FAULT)
    elif trigger_end is None:
        decision = Decision(FAULT_TO_END)
    elif not levels:
        decision = Decision(NO_GOODPUT)
    else:
        decision = decide(seconds, levels, trigger_end, horizon.seconds)
    return Assessment(
        seconds,
        empty,
        refill,
        trigger_start,
        trigger_end,
        trigger,
        kinds,
        levels,
        arrivals,
        arrivals_baseline,
        decision,
    )


def compute(
    rows: Sequence[Row], events: Sequence[Event], *, droplets: int | None = None, horizon: Horizon = NO_CONSTANTS
) -> dict[str, Any]:
    """Every KPI of DEFINITIONS (None where a run cannot say, e.g. no trigger or no EC2), and why_empty."""
    if not rows:
        empty = dict.fromkeys(key for key in DEFINITIONS if key != "why_empty")
        return empty | {"why_empty": dict.fromkeys(empty, "no time series was gathered")}
    a = assess(rows, events, horizon)
    seconds, end, decision, trigger_end = a.seconds, a.seconds[-1], a.decision, a.trigger_end
    live = HARNESS_CLOUD_LAG_MS in rows[0]  # a live run's rows carry the machine's gauge
    by_kind: dict[str, float | None] = {}
    if trigger_end is not None and a.levels:
        by_kind = {lv.kind: recovery(seconds, lv, trigger_end) for lv in a.levels if lv.kind}
    episodes = []
    for start, stop, until in _episodes(events, a.empty, a.refill, end):
        times = [recovery(seconds, lv, stop, until) for lv in a.levels]
        recovered = None if None in times or not times else max(t for t in times if t is not None)
        episodes.append({"start": round(start, 3), "end": round(stop, 3), "recovered_after_s": recovered})
    after = [i for i, s in enumerate(seconds) if trigger_end is not None and s > trigger_end]
    peak = max((a.arrivals[i] for i in after), default=None)
    effect = None
    if decision.window is not None:
        effect = measure(rows, decision.window[0], decision.window[1], a.arrivals_baseline) or None
    push = pushed_back(seconds, a.levels, decision, trigger_end, events)
    kpis: dict[str, Any] = {
        "verdict": decision.state,
        "verdict_sentence": sentence(decision, horizon, effect, trigger=a.trigger, push=push),
        "pushed_back": push,
        "decided_at_s": decision.at,
        "horizon_s": horizon.seconds,
        "horizon_basis": horizon.basis(),
        "sustaining_effect": effect,
        "dns_empty_seconds": len(a.empty),
        "trigger_start": None if a.trigger_start is None else round(a.trigger_start, 3),
        "trigger_end": None if trigger_end is None else round(trigger_end, 3),
        "time_to_recover_s": decision.recovered_after if decision.state == RECOVERED else None,
        "metastable": {STUCK: True, RECOVERED: False}.get(decision.state),
        "peak_dynamodb_over_baseline": _ratio(peak, a.arrivals_baseline),
        "retry_amplification": _ratio(_total(rows, CLIENTS_ATTEMPTS), _total(rows, CLIENTS_LOGICAL)),
        "retry_amplification_during_fault": _during_ratio(rows, a.trigger_start, trigger_end if trigger_end else end),
        "wasted_share": _ratio(
            _total(rows, DYNAMODB_WASTED) + _total(rows, DWFM_WASTED),
            _total(rows, DYNAMODB_COMPLETED) + _total(rows, DWFM_COMPLETED),
        ),
        "lease_recovery_s": _lease_recovery(rows, droplets, trigger_end),
        "slo_violation_minutes": _slo_minutes(rows),
        "episodes": episodes,
        "time_to_recover_by_kind": by_kind or None,
        "error_windows": error_windows(rows, a.kinds) or None,
        "operation_error_windows": operation_error_windows(rows) or None,
        "saturated_seconds": sum(saturated_rows(rows)) if live else None,
    }
    kpis["why_empty"] = why_empty(
        kpis, decision, end=end, kinds=a.kinds, droplets=droplets, live=live, operations=bool(operations(rows[0]))
    )
    return kpis


def _windowed(top: Sequence[float], bottom: Sequence[float]) -> list[float]:
    """sum(top) / sum(bottom) over the SMOOTHING_SECONDS ending at each second (1.0 where nothing was asked)."""
    out = []
    for i in range(len(top)):
        lo = max(0, i - SMOOTHING_SECONDS + 1)
        asked = sum(bottom[lo : i + 1])
        out.append(sum(top[lo : i + 1]) / asked if asked > 0 else 1.0)
    return out


def _episodes(
    events: Sequence[Event], empty: Sequence[int], refill: int | None, end: int
) -> list[tuple[float, float, float]]:
    """(start, end, next start or the run's end) of each fault window, overlapping windows merged."""
    windows = [
        (float(e.data["start"]), float(e.data["end"]) if e.data.get("end") is not None else float(end))
        for e in events
        if e.kind == EventKind.FAULT_START and "start" in e.data and e.data.get("fault") not in HARMLESS
    ]
    if empty:
        windows.append((empty[0] - 1.0, (refill - 1.0) if refill is not None else float(end)))
    merged: list[list[float]] = []
    for start, stop in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return [(a, b, merged[i + 1][0] if i + 1 < len(merged) else float(end)) for i, (a, b) in enumerate(merged)]


def _lease_recovery(rows: Sequence[Row], droplets: int | None, trigger_end: float | None) -> float | None:
    if droplets is None or trigger_end is None or DWFM_LEASES not in rows[0]:
        return None
    for row in rows:
        if row[SECOND] > trigger_end and row[DWFM_LEASES] >= RECOVERED_SHARE * droplets:
            return round(float(row[SECOND]) - trigger_end, 3)
    return None


def _slo_minutes(rows: Sequence[Row]) -> dict[str, int]:
    kinds = client_kinds(rows[0])
    minutes: dict[str, int] = {}
    for kind in kinds:
        per_minute: dict[int, list[float]] = {}
        for row in rows:
            counts = per_minute.setdefault((int(row[SECOND]) - 1) // 60, [0.0, 0.0])
            counts[0] += float(row[clients_of(kind, OK)])
            counts[1] += float(row[clients_of(kind, LOGICAL)])
        minutes[kind] = sum(1 for ok, logical in per_minute.values() if logical > 0 and ok / logical < SLO_SUCCESS)
    return minutes


def saturated(row: Row, before: Row | None = None, after: Row | None = None) -> bool:
    """Whether a live run's process was at the machine's limit in this second, given its neighbours (either may be
    unknown: the console has not seen the next second yet) (DEFINITIONS["saturated_seconds"])."""
    return _busy(row) or (_late(row) and any(other is not None and _late(other) for other in (before, after)))


def saturated_rows(rows: Sequence[Row]) -> list[bool]:
    """Per row of a run, `saturated`."""
    return [
        saturated(row, rows[i - 1] if i > 0 else None, rows[i + 1] if i + 1 < len(rows) else None)
        for i, row in enumerate(rows)
    ]


def _busy(row: Row) -> bool:
    return any(float(row.get(cpu, 0)) >= CPU_LIMIT for _, cpu in HARNESS)


def _late(row: Row) -> bool:
    return any(float(row.get(lag, 0)) >= LAG_LIMIT_MS for lag, _ in HARNESS)


def error_windows(rows: Sequence[Row], kinds: Sequence[str]) -> dict[str, list[list[int]]]:
    """Per client kind, its error windows (DEFINITIONS["error_windows"])."""
    return _windows(
        rows,
        {kind: [(float(r[clients_of(kind, LOGICAL)]), float(r[clients_of(kind, OK)])) for r in rows] for kind in kinds},
    )


def operation_error_windows(rows: Sequence[Row]) -> dict[str, list[list[int]]]:
    """Per declared service's operation ("service Operation"), its error windows from the service's answers."""
    series = {}
    for service, operation in operations(rows[0]) if rows else ():
        ok, failed = operation_column(service, operation, "ok"), operation_column(service, operation, "failed")
        series[f"{service} {operation}"] = [(float(r[ok]) + float(r[failed]), float(r[ok])) for r in rows]
    return _windows(rows, series)


def _windows(rows: Sequence[Row], series: Mapping[str, list[tuple[float, float]]]) -> dict[str, list[list[int]]]:
    """The spans in which each series ((asked, ok) per row) is under ERROR_SHARE, joined and filtered."""
    length = float(rows[-1][SECOND]) if rows else 0.0
    join = max(JOIN_SECONDS, JOIN_SHARE * length)
    shortest = max(MIN_WINDOW_SECONDS, MIN_WINDOW_SHARE * length)
    windows: dict[str, list[list[int]]] = {}
    for kind, counts in series.items():
        spans: list[list[int]] = []
        for row, (logical, ok) in zip(rows, counts, strict=True):
            if logical == 0 or ok / logical >= ERROR_SHARE:
                continue
            second = int(row[SECOND])
            if spans and second - 1 - spans[-1][1] <= join:
                spans[-1][1] = second
            else:
                spans.append([second - 1, second])  # the row for second N covers N-1 to N
        windows[kind] = [span for span in spans if span[1] - span[0] >= shortest]
    return windows


def _during_ratio(rows: Sequence[Row], start: float | None, end: float) -> float | None:
    if start is None:
        return None
    during = [r for r in rows if start < r[SECOND] <= end]
    return _ratio(_total(during, CLIENTS_ATTEMPTS), _total(during, CLIENTS_LOGICAL))


def _total(rows: Sequence[Row], key: str) -> float:
    return float(sum(r.get(key, 0) for r in rows))


def _ratio(top: float | None, bottom: float) -> float | None:
    return None if top is None or bottom <= 0 else round(top / bottom, 3)
