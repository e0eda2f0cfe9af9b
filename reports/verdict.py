"""The verdict of a run: once its trigger ended, did the system recover, is it stuck (metastable), or is that not
decided yet? Pure: it reads the run's rows and levels, nothing else.

A metastable failure is a degraded state that persists after its trigger is gone because a sustaining effect keeps
it there (Bronson et al., HotOS'21; Huang et al., OSDI'22). In a system with randomness every state is left some
day: what makes one metastable is that the time to leave it dwarfs the system's own time scales, and near a tipping
point recovery times surge (Alvaro, Isaacs, Majumdar et al., "Formal Analysis of Metastable Failures in Software
Systems", 2025: escape probabilities of a CTMC). So "not recovered by the end of the run" says more about the run
than about the system. The rule here, scanning the seconds after the trigger's end, decides at the first of:

- **recovered**: every service's success share (10-s window) is back to ≥ 95 % of its pre-fault level and holds
  there for 60 s (reports/kpis.py's rule); the time to recover is from the trigger's end to the start of the hold.
- **stuck**: a horizon H has passed since the trigger's end, and over the last half of it the worst service's
  level is degraded and not on its way back: its mean plus its linear trend carried a further H forward stays
  under 95 %. H is long against the system's own time constants: HORIZON_FACTOR times the longest of them (its
  timeouts, backoff caps, TTLs, leases; `Horizon`), and at least MIN_HORIZON.
- Otherwise the run is **undecided** at its end: a virtual run goes on past its written end until one of the two
  holds, up to a cap (scenarios/run/verdict_watch.py); a live run, or one stopped early, says why it is undecided.

The figures of docs/verdicts.md (`python -m benchmarks.verdict_horizon`) are what the constants rest on: every
run of the retry-storm map that came back within 1,200 s came back well within its horizon, and every run called
stuck at its horizon was still down at 1,200 s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reports.labels import duration
from services.event_kinds import EventKind
from services.events import Event

RECOVERED = "recovered"
STUCK = "stuck"
UNDECIDED = "undecided"
NO_FAULT = "no fault"
FAULT_TO_END = "fault to the end"  # the trigger never ended: nothing to recover from yet
NO_GOODPUT = "no goodput"  # nothing was asked before the fault: no level to come back to

RECOVERED_SHARE = 0.95
HOLD_SECONDS = 60
HORIZON_FACTOR = 10  # an order of magnitude past the system's longest time constant
MIN_HORIZON = 120.0  # ... and never less than two holds
TREND_SHARE = 0.5  # the stuck test looks at the last half of the horizon


@dataclass(frozen=True)
class Horizon:
    """The system's own time constants (name → seconds) and the horizon they give."""

    constants: tuple[tuple[str, float], ...] = ()

    @property
    def longest(self) -> tuple[str, float] | None:
        return max(self.constants, key=lambda c: c[1], default=None)

    @property
    def seconds(self) -> float:
        longest = self.longest
        return max(MIN_HORIZON, HORIZON_FACTOR * longest[1]) if longest is not None else MIN_HORIZON

    def basis(self) -> str:
        """How the horizon was found, in words: `10 × the backoff cap (20 s)`."""
        longest = self.longest
        if longest is None or HORIZON_FACTOR * longest[1] <= MIN_HORIZON:
            return f"the minimum, {MIN_HORIZON:.0f} s"
        return f"{HORIZON_FACTOR} × {longest[0]} ({longest[1]:g} s)"

    def to_json(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "basis": self.basis(), "constants": dict(self.constants)}


@dataclass(frozen=True)
class Level:
    """One service's success share, smoothed, per row, and its pre-fault level."""

    kind: str
    share: Sequence[float]
    baseline: float
    asked: Sequence[float] = ()  # requests asked in the same window (none: the share says nothing that second)


@dataclass(frozen=True)
class Decision:
    state: str
    at: int | None = None  # the second it was decided at
    recovered_after: float | None = None  # recovered: seconds from the trigger's end to the start of the hold
    window: tuple[int, int] | None = None  # the seconds the sustaining effect is measured over
    level: float | None = None  # the worst service's level over the window, as a share of its baseline
    recovering_since: int | None = None  # undecided: back above the line since this second, not held long enough
    worst: str = ""  # the service that was furthest from its level
    since_trigger: float | None = None  # decided: seconds from the trigger's end to the decision


def decide(
    seconds: Sequence[int], levels: Sequence[Level], trigger_end: float, horizon: float, *, start: int = 0
) -> Decision:
    """The first decisive second after `trigger_end` (rows from index `start` on; earlier ones cannot decide)."""
    held_since: int | None = None
    relative = _relative(levels)
    for i in range(start, len(seconds)):
        second = seconds[i]
        if second <= trigger_end:
            continue
        worst, share = relative(i)
        if share == math.inf:
            continue  # no load that second: it neither shows a recovery nor a failure
        if share >= RECOVERED_SHARE:
            held_since = second if held_since is None else held_since
            if second - held_since + 1 >= HOLD_SECONDS:
                took = round(held_since - trigger_end, 3)
                since = round(second - trigger_end, 3)
                return Decision(RECOVERED, second, took, (int(trigger_end), held_since), since_trigger=since)
            continue
        held_since = None
        if second - trigger_end < horizon:
            continue
        first = _index_after(seconds, second - TREND_SHARE * horizon, i)
        recent = [v for j in range(first, i + 1) if (v := relative(j)[1]) != math.inf]
        mean = sum(recent) / len(recent)
        if mean + max(0.0, _slope(recent)) * horizon < RECOVERED_SHARE:
            since = round(second - trigger_end, 3)
            return Decision(
                STUCK,
                second,
                window=(seconds[first] - 1, second),
                level=round(mean, 3),
                worst=worst,
                since_trigger=since,
            )
    end = seconds[-1] if seconds else 0
    since_end = [v for i in range(len(seconds)) if seconds[i] > trigger_end and (v := relative(i)[1]) != math.inf]
    level = round(sum(since_end[-10:]) / len(since_end[-10:]), 3) if since_end else None
    worst = relative(len(seconds) - 1)[0] if seconds else ""
    return Decision(UNDECIDED, window=(int(trigger_end), end), level=level, recovering_since=held_since, worst=worst)


def _push(push: Mapping[str, Any] | None) -> str:
    if push is None:
        return ""
    back = f"every service was back at {push['recovered_at_s']:g} s"
    if not push["actions"]:
        return f" Later, {back}, with no operator action in between."
    actions = ", ".join(f"{a['action']} ({a['t']:g} s)" for a in push["actions"])
    return f" It came back only after a push from outside: the operators' {actions}; {back}."


def recovery(seconds: Sequence[int], level: Level, after: float, until: float = math.inf) -> float | None:
    """Seconds from `after` until `level` is back to RECOVERED_SHARE of its baseline and holds there HOLD_SECONDS,
    looking no further than `until` (None: it did not)."""
    held_since: int | None = None
    for i, second in enumerate(seconds):
        if second <= after:
            continue
        if second > until:
            break
        if level.share[i] >= RECOVERED_SHARE * level.baseline:
            held_since = second if held_since is None else held_since
            if second - held_since + 1 >= HOLD_SECONDS:
                return round(held_since - after, 3)
        else:
            held_since = None
    return None


def pushed_back(
    seconds: Sequence[int],
    levels: Sequence[Level],
    decision: Decision,
    trigger_end: float | None,
    events: Sequence[Event],
) -> dict[str, Any] | None:
    """A stuck run that came back later in the run: when every service was back (held, as for recovered), and the
    operators' actions between the trigger's end and then (None: not stuck, or it never came back)."""
    if decision.state != STUCK or decision.at is None or not levels:
        return None
    times = [recovery(seconds, level, decision.at) for level in levels]
    if None in times:
        return None
    back = decision.at + max(t for t in times if t is not None)
    actions = [
        {"t": e.t, "action": str(e.data.get("action", ""))}
        for e in events
        if e.kind == EventKind.OPERATOR_ACTION and (trigger_end or 0) + 1 < e.t <= back
    ]
    return {"recovered_at_s": back, "actions": actions}


def _whose(decision: Decision) -> str:
    return f"the {decision.worst} users'" if decision.worst else "DynamoDB's"


def _relative(levels: Sequence[Level]) -> Any:
    def at(i: int) -> tuple[str, float]:
        """The service furthest from its level at row i, and how far (inf: nobody asked anything then)."""
        worst, share = "", math.inf
        for level in levels:
            if level.asked and level.asked[i] <= 0:
                continue
            value = level.share[i] / level.baseline
            if value < share:
                worst, share = level.kind, value
        return worst, share

    return at


def _index_after(seconds: Sequence[int], t: float, upto: int) -> int:
    i = upto
    while i > 0 and seconds[i - 1] > t:
        i -= 1
    return i


def _slope(values: Sequence[float]) -> float:
    """The least-squares slope of `values` per row (0 for fewer than two)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    top = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    bottom = sum((x - mean_x) ** 2 for x in range(n))
    return top / bottom


def sentence(
    decision: Decision,
    horizon: Horizon,
    effect: Mapping[str, Any] | None,
    *,
    trigger: str,
    push: Mapping[str, Any] | None = None,
) -> str:
    """The verdict in a sentence, with the figures behind it (and, for a stuck run brought back later, how)."""
    state = decision.state
    if state == NO_FAULT:
        return "No fault: nothing to recover from, so no verdict."
    if state == FAULT_TO_END:
        return f"The {trigger} lasted to the end of the run: there is no recovery to judge yet."
    if state == NO_GOODPUT:
        return "Nothing was asked of the system before the fault, so there is no level to come back to."
    why = "" if not effect else str(effect.get("explanation", ""))
    loop = f" What held it back: {why}" if why else ""
    if state == RECOVERED:
        return (
            f"Recovered {duration(decision.recovered_after or 0)} after the {trigger} ended "
            f"(every service back to ≥ {RECOVERED_SHARE:.0%} of its level before, held {HOLD_SECONDS} s).{loop}"
        )
    if state == STUCK:
        loop = f" What kept it down: {why}" if why else ""
        return (
            f"Stuck (metastable): {duration(decision.since_trigger or 0)} after the {trigger} ended, "
            f"{_whose(decision)} success was {decision.level:.0%} of its level before and not coming back "
            f"(the horizon: {duration(horizon.seconds)}, {horizon.basis()}).{loop}{_push(push)}"
        )
    if decision.recovering_since is not None:
        return (
            f"Undecided: back to its level since {decision.recovering_since} s, but the run ended before that had "
            f"held {HOLD_SECONDS} s.{loop}"
        )
    shown = (
        "" if decision.level is None else f", {_whose(decision)} success at {decision.level:.0%} of its level before"
    )
    return (
        f"Undecided: not recovered by the end of the run{shown}, and not yet down for the "
        f"{duration(horizon.seconds)} that stuck needs ({horizon.basis()}).{loop}"
    )
