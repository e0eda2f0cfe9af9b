"""Client-side limits on retries and on sending at all: gRPC retry throttling, Finagle retry budgets, Google SRE
adaptive throttling and a circuit breaker. Each wraps a retry schedule (`backoff.py`) for the waits themselves.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

from services.throttling.backoff import ExponentialBackoff, RetrySchedule
from services.throttling.base import REJECT, SEND, Admission
from services.throttling.outcome import LOCAL, Outcome


@dataclass
class _GuardedCall:
    """A call whose retries, and possibly sends, are vetted by a shared guard."""

    guard: _Guard
    previous: float = 0.0

    def before_attempt(self, attempt: int, now: float) -> Admission:
        return self.guard.admit(attempt, now)

    def after_attempt(self, outcome: Outcome, now: float) -> float | None:
        guard = self.guard
        guard.record(outcome, now)
        schedule = guard.schedule
        if outcome.ok or not outcome.retryable or outcome.attempt >= schedule.max_attempts:
            return None
        if not guard.may_retry(now):
            guard.refused += 1
            return None
        self.previous = schedule.delay(outcome.attempt - 1, self.previous)
        return self.previous


@dataclass
class _Guard:
    schedule: RetrySchedule = field(default_factory=ExponentialBackoff)
    name: str = "guard"
    refused: int = 0

    def new_call(self) -> _GuardedCall:
        return _GuardedCall(self)

    def admit(self, attempt: int, now: float) -> Admission:
        return SEND

    def record(self, outcome: Outcome, now: float) -> None:
        pass

    def may_retry(self, now: float) -> bool:
        return True


@dataclass
class GrpcRetryThrottling(_Guard):
    """gRPC retry throttling (gRFC A6 "gRPC Retry Design", `retryThrottling` in the service config).

    A token count starts at `max_tokens`; each failed attempt takes 1, each success gives back `token_ratio`, never
    above `max_tokens`. Retries (and hedges) are allowed only while the count is above `max_tokens / 2`.
    Defaults here: maxTokens 10, tokenRatio 0.1 (A6's example values).
    """

    max_tokens: float = 10.0
    token_ratio: float = 0.1
    tokens: float = 10.0
    name: str = "grpc-retry-throttling"

    def record(self, outcome: Outcome, now: float) -> None:
        if outcome.ok:
            self.tokens = min(self.max_tokens, self.tokens + self.token_ratio)
        elif outcome.retryable:
            self.tokens = max(0.0, self.tokens - 1)

    def may_retry(self, now: float) -> bool:
        return self.tokens > self.max_tokens / 2


@dataclass
class FinagleRetryBudget(_Guard):
    """Finagle's RetryBudget (`com.twitter.finagle.service.RetryBudget`, its defaults).

    Every request deposits into a budget that a retry withdraws from; deposits expire after `ttl` (10 s). Retries
    may be `percent_can_retry` (20 %) of requests, plus a reserve of `min_retries_per_sec` (10) retries per
    second over the ttl. Finagle counts in units of 1,000 per deposit and 1,000 / 0.2 = 5,000 per withdrawal;
    the same ratio is used here.
    """

    ttl: float = 10.0
    min_retries_per_sec: float = 10.0
    percent_can_retry: float = 0.2
    name: str = "retry-budget"
    _window: deque[tuple[float, float]] = field(default_factory=deque)
    deposits: int = 0
    withdrawals: int = 0

    def _balance(self, now: float) -> float:
        while self._window and self._window[0][0] <= now - self.ttl:
            self._window.popleft()
        reserve = self.min_retries_per_sec * self.ttl / self.percent_can_retry
        return reserve + sum(delta for _, delta in self._window)

    def admit(self, attempt: int, now: float) -> Admission:
        if attempt == 1:  # each logical request deposits once
            self._window.append((now, 1.0))
            self.deposits += 1
        return SEND

    def may_retry(self, now: float) -> bool:
        cost = 1.0 / self.percent_can_retry
        if self._balance(now) < cost:
            return False
        self._window.append((now, -cost))
        self.withdrawals += 1
        return True


@dataclass
class SreAdaptiveThrottling(_Guard):
    """Client-side adaptive throttling from Google's "Site Reliability Engineering" book, ch. 21.

    Over the last `window` (2 minutes) the client counts `requests` it wanted to send and `accepts` the backend
    took, and rejects a new request locally with probability max(0, (requests − K·accepts) / (requests + 1)),
    K = 2. A locally rejected request still counts as a request. Retries, as the book also recommends, are at
    most 3 attempts per request.
    """

    k: float = 2.0
    window: float = 120.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    name: str = "sre-adaptive-throttling"
    _requests: deque[float] = field(default_factory=deque)
    _accepts: deque[float] = field(default_factory=deque)
    rejected: int = 0

    def rejection_probability(self, now: float) -> float:
        for times in (self._requests, self._accepts):
            while times and times[0] <= now - self.window:
                times.popleft()
        requests, accepts = len(self._requests), len(self._accepts)
        return max(0.0, (requests - self.k * accepts) / (requests + 1))

    def admit(self, attempt: int, now: float) -> Admission:
        p = self.rejection_probability(now)
        self._requests.append(now)
        if self.rng.random() < p:
            self.rejected += 1
            return REJECT
        return SEND

    def record(self, outcome: Outcome, now: float) -> None:
        if outcome.status is not None and not outcome.throttled and outcome.status < 500:
            self._accepts.append(now)


@dataclass
class CircuitBreaker(_Guard):
    """A circuit breaker (Nygard, "Release It!"), with Netflix Hystrix's default numbers.

    Closed: calls pass; once at least `volume_threshold` (20) calls in the last `window` (10 s) have been seen and
    `error_percent` (50 %) of them failed, it opens. Open: calls are rejected locally for `sleep_window` (5 s).
    Then half-open: one trial call passes; success closes the breaker, failure opens it again.
    """

    volume_threshold: int = 20
    error_percent: float = 50.0
    window: float = 10.0
    sleep_window: float = 5.0
    name: str = "circuit-breaker"
    state: str = "closed"
    opened_at: float = 0.0
    _results: deque[tuple[float, bool]] = field(default_factory=deque)
    trial_in_flight: bool = False
    rejected: int = 0

    def admit(self, attempt: int, now: float) -> Admission:
        if self.state == "open" and now - self.opened_at >= self.sleep_window:
            self.state = "half-open"
        if self.state == "closed":
            return SEND
        if self.state == "half-open" and not self.trial_in_flight:
            self.trial_in_flight = True
            return SEND
        self.rejected += 1
        return REJECT

    def record(self, outcome: Outcome, now: float) -> None:
        if outcome.failure == LOCAL:
            return
        failed = not outcome.ok and outcome.retryable
        if self.state == "half-open":
            self.trial_in_flight = False
            self.state, self.opened_at = ("open", now) if failed else ("closed", self.opened_at)
            self._results.clear()
            return
        self._results.append((now, failed))
        while self._results and self._results[0][0] <= now - self.window:
            self._results.popleft()
        total = len(self._results)
        if total >= self.volume_threshold and 100.0 * sum(f for _, f in self._results) / total >= self.error_percent:
            self.state, self.opened_at = "open", now
