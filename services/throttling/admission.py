"""Server-side admission: whether a node accepts one more request, given what it is doing now.

Each policy sees the arrival time, the requests in service and the requests queued, and (for the adaptive ones)
learns from every completion: its latency and whether it was dropped or throttled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol


class Admission(Protocol):
    name: str

    def admit(self, now: float, in_flight: int, queued: int) -> bool: ...

    def on_done(self, now: float, latency: float, dropped: bool, in_flight: int) -> None: ...


@dataclass
class AdmitAll:
    name: str = "admit-all"

    def admit(self, now: float, in_flight: int, queued: int) -> bool:
        return True

    def on_done(self, now: float, latency: float, dropped: bool, in_flight: int) -> None:
        pass


@dataclass
class TokenBucketLimit(AdmitAll):
    """A token-bucket rate limit: `rate` requests/s sustained, bursts of `burst` (the classic GCRA/token bucket,
    as in API Gateway's throttling: a steady-state rate and a burst)."""

    rate: float = 100.0
    burst: float = 100.0
    name: str = "token-bucket"
    tokens: float | None = None
    last: float | None = None

    def admit(self, now: float, in_flight: int, queued: int) -> bool:
        if self.tokens is None or self.last is None:
            self.tokens, self.last = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class ConcurrencyLimit(AdmitAll):
    """A fixed limit on requests inside the node, in service or queued (Netflix concurrency-limits `FixedLimit`;
    no default in the source, 100 here)."""

    limit: int = 100
    name: str = "concurrency-limit"

    def admit(self, now: float, in_flight: int, queued: int) -> bool:
        return in_flight + queued < self.limit


@dataclass
class QueueSizeAdmission(AdmitAll):
    """Admission by queue size: refuse new work while `max_queue` requests already wait. AWS's post-incident
    summary (2025-10-19/20) names this as the fix added to the Network Manager's propagation work."""

    max_queue: int = 100
    name: str = "queue-size-admission"

    def admit(self, now: float, in_flight: int, queued: int) -> bool:
        return queued < self.max_queue


@dataclass
class _Limiter(AdmitAll):
    """Admit while in-flight + queued stays under a limit that the subclass adapts."""

    limit: float = 20.0
    min_limit: float = 20.0
    max_limit: float = 200.0
    history: list[float] = field(default_factory=list)

    def admit(self, now: float, in_flight: int, queued: int) -> bool:
        return in_flight + queued < int(self.limit)

    def _set(self, value: float) -> None:
        self.limit = max(self.min_limit, min(self.max_limit, value))
        self.history.append(self.limit)


@dataclass
class AimdLimit(_Limiter):
    """Additive increase, multiplicative decrease (Netflix concurrency-limits `AIMDLimit` defaults):
    initial 20, min 20, max 200; on a drop or a latency above `timeout` (5 s) the limit is multiplied by
    `backoff_ratio` (0.9); otherwise, when at least half the limit is in use, it grows by 1."""

    backoff_ratio: float = 0.9
    timeout: float = 5.0
    name: str = "aimd"

    def on_done(self, now: float, latency: float, dropped: bool, in_flight: int) -> None:
        if dropped or latency > self.timeout:
            self._set(self.limit * self.backoff_ratio)
        elif in_flight * 2 >= self.limit:
            self._set(self.limit + 1)


@dataclass
class VegasLimit(_Limiter):
    """TCP Vegas applied to concurrency (Netflix concurrency-limits `VegasLimit` defaults): initial 20, max 1000.
    The estimated queue is limit · (1 − rtt_noload / rtt); with l = log10(limit), grow by 6·l below l
    (threshold), by l below 3·l (alpha), shrink by l above 6·l (beta); a drop shrinks by l."""

    min_limit: float = 1.0
    max_limit: float = 1000.0
    name: str = "vegas"
    rtt_noload: float | None = None

    def on_done(self, now: float, latency: float, dropped: bool, in_flight: int) -> None:
        if latency > 0 and (self.rtt_noload is None or latency < self.rtt_noload):
            self.rtt_noload = latency
        log = max(1.0, math.log10(self.limit))
        if dropped:
            self._set(self.limit - log)
            return
        if in_flight * 2 < self.limit or self.rtt_noload is None or latency <= 0:
            return  # not enough load to learn from
        queue = math.ceil(self.limit * (1 - self.rtt_noload / latency))
        if queue <= log:
            self._set(self.limit + 6 * log)
        elif queue < 3 * log:
            self._set(self.limit + log)
        elif queue > 6 * log:
            self._set(self.limit - log)


@dataclass
class GradientLimit(_Limiter):
    """The gradient limiter (Netflix concurrency-limits `Gradient2Limit` defaults): initial 20, min 20, max 200,
    smoothing 0.2, rtt tolerance 1.5, a long-term RTT averaged over 600 samples, queue allowance 4.
    gradient = clamp(tolerance · long_rtt / short_rtt, 0.5, 1); new = limit · gradient + 4, smoothed."""

    smoothing: float = 0.2
    tolerance: float = 1.5
    long_window: int = 600
    queue_size: float = 4.0
    name: str = "gradient"
    long_rtt: float | None = None
    samples: int = 0

    def on_done(self, now: float, latency: float, dropped: bool, in_flight: int) -> None:
        if latency <= 0:
            return
        self.samples += 1
        if self.long_rtt is None:
            self.long_rtt = latency
        else:
            weight = 2 / (min(self.samples, self.long_window) + 1)
            self.long_rtt += (latency - self.long_rtt) * weight
        if self.long_rtt / latency > 2:  # recovering from a bad spell: let the baseline come down faster
            self.long_rtt *= 0.95
        if in_flight < self.limit / 2 and not dropped:
            return
        gradient = max(0.5, min(1.0, self.tolerance * self.long_rtt / latency))
        target = self.limit * gradient + self.queue_size
        self._set(self.limit * (1 - self.smoothing) + target * self.smoothing)
