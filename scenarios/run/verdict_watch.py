"""A virtual run that goes on past its written end until its verdict is decided (reports/verdict.py).

From the scenario's `duration` on, every few simulated seconds, the watcher judges the rows gathered so far, as the
KPIs will: once the verdict is recovered or stuck (or there is nothing to decide: no fault, a fault that never
ended), it asks the run to stop at that second; at `verdict_cap` it stops undecided. The load keeps its last stage
meanwhile (`held_load`), and nothing else changes: a run of twice the length gives the same rows up to the point the
shorter one stopped, so the same verdict. Only the rows a client has finished with are judged: a request's outcome
is counted in the second it began, up to its deadline later.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from loadgen.behaviour import SecondOutcomes
from reports.columns import DNS_REGIONAL_ADDRESSES, DYNAMODB_ARRIVALS, DYNAMODB_COMPLETED, SECOND
from reports.kpis import assess
from reports.verdict import UNDECIDED, Horizon
from scenarios.config.horizon import DEFAULT_CLIENT_TIMEOUT
from scenarios.config.schema import LoadConfig, Scenario
from scenarios.run.sampler import Row, with_clients
from services import runtime
from services.events import EventLog

CAPS = 2  # by default a run may go on for two horizons past its written end


def cap_of(scenario: Scenario, horizon: Horizon) -> float:
    """How far a virtual run may go to decide its verdict (simulated seconds)."""
    if scenario.verdict_cap is not None:
        return scenario.verdict_cap
    return scenario.duration + CAPS * horizon.seconds


def held_load(scenario: Scenario, until: float) -> Scenario:
    """The scenario with its last load stage held to `until`, if it lasted to the written end."""
    load = scenario.load
    if load is None or load.stages[-1].until < scenario.duration or until <= load.stages[-1].until:
        return scenario
    stages = (*load.stages[:-1], load.stages[-1].model_copy(update={"until": until}))
    held: LoadConfig = load.model_copy(update={"stages": stages})
    return scenario.model_copy(update={"load": held})


class RunStop:
    """A request to end the run at a given second, made from inside it (the runner waits on it)."""

    def __init__(self) -> None:
        self.at: float | None = None
        self._event: runtime.Event | None = None

    def event(self) -> runtime.Event:
        if self._event is None:
            self._event = runtime.Event()
        return self._event

    def request(self, second: float) -> None:
        if self.at is None:
            self.at = second
            self.event().set()


# What assess() reads of a row besides the clients' columns (with_clients adds those).
JUDGED = (SECOND, DNS_REGIONAL_ADDRESSES, DYNAMODB_ARRIVALS, DYNAMODB_COMPLETED)


class VerdictWatch:
    """Judges the run's rows past its written end; asks `stop` to end it once the verdict is decided."""

    def __init__(
        self,
        scenario: Scenario,
        horizon: Horizon,
        rows: Callable[[], Sequence[Row]],
        outcomes: Callable[[], SecondOutcomes | None],
        events: EventLog,
        stop: RunStop,
    ) -> None:
        self.horizon = horizon
        self.written_end = math.ceil(scenario.duration)
        self.cap = math.ceil(cap_of(scenario, horizon))
        self.every = max(5, math.ceil(self.horizon.seconds / 20))
        deadline = (scenario.load.timeout or DEFAULT_CLIENT_TIMEOUT) if scenario.load is not None else 0.0
        self.settle = math.ceil(deadline) + 1  # rows younger than a deadline may still gain outcomes
        self._rows, self._outcomes, self._events, self._stop = rows, outcomes, events, stop

    def __call__(self, row: Row) -> None:
        second = int(row[SECOND])
        if second < self.written_end or self._stop.at is not None:
            return
        if second >= self.cap:
            self._stop.request(second)
            return
        if (second - self.written_end) % self.every:
            return
        rows = self._rows()
        # The columns the verdict reads (reports/kpis.py's assess), not a copy of every row: a replay's rows are many.
        slim = [{k: r[k] for k in JUDGED if k in r} for r in rows[: max(1, len(rows) - self.settle)]]
        judged = with_clients(slim, self._outcomes())
        if assess(judged, self._events.events, self.horizon).decision.state != UNDECIDED:
            self._stop.request(second)
