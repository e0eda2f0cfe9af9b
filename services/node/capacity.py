"""The capacity model every node uses: workers, a service-time distribution, a bounded queue, deadlines, stats.

Behaviour comes from this model, not from how fast the host machine is: a request waits for one of `workers`
slots in a FIFO queue of at most `queue_limit` waiting requests, then holds its slot for a service time drawn from
the node's distribution. A full queue rejects the request at once (the caller turns that into ThrottlingException).

Deadlines: a client sends the absolute simulated time by which it needs the answer (`x-deadline`). A naive node
still serves a request whose deadline has passed by the time a worker picks it up (that is "expired" work) and
every request finished after its deadline is "wasted" work: nobody is waiting for the answer any more. Wasted
work is what sustains a congestive collapse. `drop_expired` makes the node drop expired work at dequeue instead.

Every node keeps per-second counters (arrivals, admitted, rejected, completed, expired, wasted, dropped), the
queue depth and in-flight count sampled when the second closes, and latency percentiles (nearest rank over that
second's few samples; the whole run's latencies go into an HdrHistogram).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Literal, TypeVar

from hdrh.histogram import HdrHistogram

from services import runtime
from services.errors import CascadesimError
from services.runtime import draws
from services.throttling.admission import Admission, AdmitAll
from services.throttling.disciplines import Discipline, Fifo, Waiting

T = TypeVar("T")

# Latencies are recorded in microseconds, from 1 µs to one hour, to two significant digits.
_HIST_RANGE = (1, 3_600_000_000, 2)
# z such that P(Z <= z) = 0.99 for a standard normal: the lognormal's p99 is exp(mu + Z99 * sigma).
Z99 = 2.3263478740408408


class Overloaded(CascadesimError):
    """The node's queue is full: the request was rejected without being queued."""


class DeadlineExceeded(CascadesimError):
    """The request's deadline had passed when a worker picked it up, and the node drops such work."""


class Shed(CascadesimError):
    """The queue discipline dropped the request while it waited (CoDel, queue-age shedding)."""


@dataclass(frozen=True)
class ServiceTime:
    """How long one request holds a worker, in seconds.

    `constant` always takes `mean`; `exponential` has that mean; `lognormal` is fitted to `mean` and `p99`.
    """

    kind: Literal["constant", "exponential", "lognormal"] = "exponential"
    mean: float = 0.005
    p99: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and self.mean >= 0):
            raise ValueError(f"mean = {self.mean}: must be a finite number >= 0")
        if self.kind == "lognormal":
            if self.p99 is None or not self.p99 > self.mean > 0:
                raise ValueError(f"p99 = {self.p99}: a lognormal needs p99 > mean > 0")
            if math.log(self.p99 / self.mean) > Z99 * Z99 / 2:
                raise ValueError(
                    f"p99 = {self.p99}: a lognormal's p99 is at most {math.exp(Z99 * Z99 / 2):.1f}× its mean"
                )

    def lognormal_parameters(self) -> tuple[float, float]:
        """(mu, sigma) with E[X] = exp(mu + sigma²/2) = mean and exp(mu + Z99·sigma) = p99."""
        if self.p99 is None:
            raise ValueError("a lognormal needs p99")
        # log(p99) - log(mean) = Z99·sigma - sigma²/2: take the smaller root (the larger one is degenerate).
        gap = math.log(self.p99) - math.log(self.mean)
        sigma = Z99 - math.sqrt(Z99 * Z99 - 2 * gap)
        return math.log(self.mean) - sigma * sigma / 2, sigma

    def sample(self, rng: random.Random) -> float:
        if self.kind == "constant" or self.mean == 0:
            return self.mean
        if self.kind == "exponential":
            return draws.expovariate(rng, 1.0 / self.mean)
        mu, sigma = self.lognormal_parameters()
        return rng.lognormvariate(mu, sigma)


@dataclass(frozen=True)
class CapacitySpec:
    workers: int = 64
    service_time: ServiceTime = field(default_factory=ServiceTime)
    queue_limit: int = 1024
    drop_expired: bool = False

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers = {self.workers}: must be at least 1")
        if self.queue_limit < 0:
            raise ValueError(f"queue_limit = {self.queue_limit}: must be at least 0")


COUNTERS = ("arrivals", "admitted", "rejected", "completed", "expired", "wasted", "dropped", "shed")


@dataclass
class Second:
    """One closed second of a node's statistics."""

    second: int
    counts: dict[str, int]
    queue_depth: int
    in_flight: int
    latency_p50: float | None
    latency_p99: float | None
    latency_max: float | None


# How many closed seconds a node keeps: the run's sampler reads them as they close, so a few minutes is plenty, and
# a 14-hour virtual run does not hold a million of them.
KEPT_SECONDS = 600


def nearest_rank(ordered: list[float], percentile: float) -> float:
    """The nearest-rank percentile of sorted, non-empty values."""
    return ordered[max(0, math.ceil(percentile / 100 * len(ordered)) - 1)]


class NodeStats:
    """Per-second counters and latency percentiles, plus totals and a whole-run histogram."""

    def __init__(self, clock: Callable[[], float], origin: float | None = None) -> None:
        # Second 0 starts at `origin`, or at the first thing recorded (nodes may be built before the loop runs).
        self._clock = clock
        self._origin = origin
        self._second = 0
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._latencies: list[float] = []  # this second's, in seconds
        self.totals = dict.fromkeys(COUNTERS, 0)
        self.latency = HdrHistogram(*_HIST_RANGE)
        self.seconds: deque[Second] = deque(maxlen=KEPT_SECONDS)
        self.queue_depth = 0
        self.in_flight = 0

    def _roll(self) -> None:
        if self._origin is None:
            self._origin = self._clock()
        now = int(self._clock() - self._origin)
        while self._second < now:
            ordered = sorted(self._latencies)
            self.seconds.append(
                Second(
                    self._second,
                    self._counts,
                    self.queue_depth,
                    self.in_flight,
                    nearest_rank(ordered, 50) if ordered else None,
                    nearest_rank(ordered, 99) if ordered else None,
                    ordered[-1] if ordered else None,
                )
            )
            self._second += 1
            self._counts = dict.fromkeys(COUNTERS, 0)
            if ordered:
                self._latencies = []

    def count(self, name: str) -> None:
        origin = self._origin
        if origin is None or self._clock() - origin >= self._second + 1:  # int(elapsed) > second: a second closed
            self._roll()
        self._counts[name] += 1
        self.totals[name] += 1

    def record_latency(self, seconds: float) -> None:
        self._roll()
        self._latencies.append(seconds)
        self.latency.record_value(min(max(1, round(seconds * 1e6)), _HIST_RANGE[1]))

    def closed_seconds(self) -> list[Second]:
        """The seconds that have fully passed (the latest KEPT_SECONDS of them)."""
        self._roll()
        return list(self.seconds)

    def latest(self) -> Second | None:
        """The second that closed last, if any has."""
        self._roll()
        return self.seconds[-1] if self.seconds else None


SLACK = 1e-6  # seconds: a slot handed over this close to now counts as handed over now (virtual time: always)


class _Ticket:
    __slots__ = ("handed_at", "shed", "turn")

    def __init__(self) -> None:
        self.turn = runtime.Event()
        self.shed = False
        self.handed_at: float | None = None  # when the slot it was handed was free, on the model's schedule


class CapacityModel:
    """Admission, queueing and service for one node.

    `admission` (services.throttling.admission) may refuse a request before it queues; `discipline`
    (services.throttling.disciplines) orders the queue and may drop from it. The defaults admit everything the
    bounded queue can hold and serve it first in, first out.
    """

    def __init__(
        self,
        spec: CapacitySpec,
        rng: random.Random,
        *,
        admission: Admission | None = None,
        discipline: Discipline[_Ticket] | None = None,
    ) -> None:
        self.spec = spec
        self._rng = rng
        self._busy = 0
        self.admission: Admission = AdmitAll() if admission is None else admission
        # Not `discipline or Fifo()`: an empty queue is falsy.
        self._waiting: Discipline[_Ticket] = Fifo() if discipline is None else discipline
        self.slowdown = 1.0  # service times are multiplied by it (the slow_node fault)
        self.stats = NodeStats(runtime.current_time)

    def set_slowdown(self, factor: float) -> None:
        """Service times multiplied by `factor` from now on (1: normal speed)."""
        if not factor > 0:
            raise ValueError(f"slowdown = {factor}: must be greater than 0")
        self.slowdown = factor

    async def serve(self, deadline: float | None, work: Callable[[], Awaitable[T]]) -> T:
        """Queue for a worker, hold it for a service time, then run `work` (the operation itself, instant).

        Raises Overloaded when the queue is full and DeadlineExceeded when expired work is dropped.
        """
        stats = self.stats
        arrived = runtime.current_time()
        stats.count("arrivals")
        if not self.admission.admit(arrived, self._busy, len(self._waiting)):
            stats.count("rejected")
            raise Overloaded(f"refused by {self.admission.name}")
        if self._busy >= self.spec.workers and len(self._waiting) >= self.spec.queue_limit:
            stats.count("rejected")
            raise Overloaded(f"queue full ({self.spec.queue_limit} waiting)")
        stats.count("admitted")
        try:
            handed_at = await self._acquire()
        except Shed:
            stats.count("shed")
            self.admission.on_done(runtime.current_time(), runtime.current_time() - arrived, True, self._busy)
            raise
        late = 0.0  # how much later than the model's schedule the timer woke this worker
        try:
            started = runtime.current_time()
            began = started if handed_at is None else min(started, handed_at)  # on the model's schedule
            if deadline is not None and began > deadline:
                stats.count("expired")
                if self.spec.drop_expired:
                    stats.count("dropped")
                    raise DeadlineExceeded(f"deadline passed {started - deadline:.3f} s before service")
            service = self.spec.service_time.sample(self._rng) * self.slowdown
            if handed_at is not None and handed_at < started - SLACK:
                end = handed_at + service  # the service began when the slot was free, not when this task woke
                await runtime.sleep_until(end)
            else:
                end = started + service
                await runtime.sleep(service)
            late = max(0.0, runtime.current_time() - end)
            result = await work()
        finally:
            self._release(late)
        finished = runtime.current_time()
        stats.count("completed")
        if deadline is not None and finished > deadline:
            stats.count("wasted")
        stats.record_latency(finished - arrived)
        self.admission.on_done(finished, finished - arrived, False, self._busy)
        return result

    async def _acquire(self) -> float | None:
        """Wait for a worker; returns when the slot handed over was free on the model's schedule (None: a free
        worker was taken at once)."""
        if self._busy < self.spec.workers and not self._waiting:
            self._busy += 1
            self.stats.in_flight = self._busy
            return None
        ticket = _Ticket()
        entry = Waiting(runtime.current_time(), ticket)
        self._waiting.push(entry)
        self.stats.queue_depth = len(self._waiting)
        try:
            await ticket.turn.wait()
        except BaseException:
            if self._waiting.remove(entry):
                self.stats.queue_depth = len(self._waiting)
            elif not ticket.shed:  # the slot was handed to us just as we were cancelled: pass it on
                self._release()
            raise
        if ticket.shed:
            raise Shed("dropped from the queue by " + self._waiting.name)
        return ticket.handed_at

    def _release(self, late: float = 0.0) -> None:
        # Hand the slot straight to the next request the discipline picks, so no newcomer can jump the queue.
        # In a live run a timer fires a little after its time (a fraction of a millisecond to a few): the next
        # service starts when this one ended on the model's schedule, so that the lateness does not add up and
        # a node serves `workers / service time` as modelled while the machine keeps up (virtual time: late = 0).
        now = runtime.current_time()
        entry, dropped = self._waiting.pop(now)
        for gone in dropped:
            gone.item.shed = True
            gone.item.turn.set()
        if entry is not None:
            entry.item.handed_at = max(now - late, entry.enqueued)  # never before the request itself came
            entry.item.turn.set()
        else:
            self._busy -= 1
            self.stats.in_flight = self._busy
        self.stats.queue_depth = len(self._waiting)

    def resize(self, workers: int) -> None:
        """Change the number of workers (scale out or in); new slots go straight to waiting requests."""
        self.spec = replace(self.spec, workers=max(1, workers))
        while self._busy < self.spec.workers and len(self._waiting):
            entry, dropped = self._waiting.pop(runtime.current_time())
            for gone in dropped:
                gone.item.shed = True
                gone.item.turn.set()
            if entry is None:
                break
            self._busy += 1
            entry.item.turn.set()
        self.stats.in_flight = self._busy
        self.stats.queue_depth = len(self._waiting)

    @property
    def queue_depth(self) -> int:
        return len(self._waiting)

    @property
    def in_flight(self) -> int:
        return self._busy
