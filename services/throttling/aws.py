"""The AWS SDKs' retry modes: `standard` and `adaptive`.

Source: "Retry behavior", AWS SDKs and Tools Reference Guide, and the SDKs that implement it (botocore's
`retries/standard.py`, `quota.py`, `adaptive.py`, `throttling.py`, `bucket.py`):
- standard: at most 3 attempts; a client-wide retry quota of 500 tokens; a retry costs 5 tokens (10 after a
  timeout); a success that needed no retry gives 1 token back (a success after retries returns what the retry
  took); with the quota empty, failures are not retried. The wait before retry n (1-based) is full jitter,
  random(0, 1) · min(base · 2^(n-1), 20 s), with base 1 s after a throttling error and 0.025 s (DynamoDB's value)
  after any other transient error.
  That is the 2020 design (`RULES_2020`, policy set aws-sdk-standard). Its 2026 revision (`RULES_2026`, "Retry
  behavior" as revised in 2026; botocore 1.44's `retries/standard.py`, the default from botocore 1.44.0): 4 attempts
  for DynamoDB (3 for the others) unless the policy sets max_attempts; base 0.05 s after a transient error (0.025 s
  for DynamoDB), still 1 s after throttling; a transient retry costs 14 tokens and a throttling retry 5; a timeout
  is a transient error like any other (14, no longer 10).
- adaptive: standard plus a client-side rate limiter. After the first throttling response, sends pass through a
  token bucket whose rate follows CUBIC (C = 0.4, β = 0.7): on throttling the rate drops to β · min(measured
  rate, current rate); on success it grows along C · (t − K)³ + W_max with K = ∛(W_max · (1 − β) / C). The
  measured send rate is smoothed (0.8) over 0.5 s buckets; the bucket never fills slower than 0.5 tokens/s and
  its rate never exceeds twice the measured rate.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from services.throttling.base import SEND, Admission
from services.throttling.outcome import Outcome

INITIAL_RETRY_TOKENS = 500
NO_RETRY_INCREMENT = 1
MAX_BACKOFF = 20.0


@dataclass(frozen=True)
class StandardRules:
    """One revision of the standard mode's numbers; `dynamodb_*` apply to a client of DynamoDB."""

    revision: str
    max_attempts: int = 3
    dynamodb_max_attempts: int = 3
    throttling_base: float = 1.0
    transient_base: float = 0.025  # the 2020 model's: DynamoDB's value, for every service
    dynamodb_transient_base: float = 0.025
    retry_cost: int = 5
    throttling_retry_cost: int = 5
    timeout_retry_cost: int = 10


RULES_2020 = StandardRules("2020")
RULES_2026 = StandardRules(
    "2026",
    dynamodb_max_attempts=4,
    transient_base=0.05,
    dynamodb_transient_base=0.025,
    retry_cost=14,
    throttling_retry_cost=5,
    timeout_retry_cost=14,
)
RULES = {"2020": RULES_2020, "2026": RULES_2026}


@dataclass
class RetryQuota:
    capacity: int = INITIAL_RETRY_TOKENS
    available: int = INITIAL_RETRY_TOKENS

    def acquire(self, amount: int) -> bool:
        if amount > self.available:
            return False
        self.available -= amount
        return True

    def release(self, amount: int) -> None:
        self.available = min(self.capacity, self.available + amount)


@dataclass
class _StandardCall:
    policy: AwsStandard
    held: int = 0  # quota the last retry took, returned on success

    def before_attempt(self, attempt: int, now: float) -> Admission:
        return self.policy.admit(now)

    def after_attempt(self, outcome: Outcome, now: float) -> float | None:
        policy = self.policy
        policy.observe(outcome, now)
        if outcome.ok:
            policy.quota.release(self.held if self.held else NO_RETRY_INCREMENT)
            return None
        if not outcome.retryable or outcome.attempt >= policy.attempts:
            return None
        rules = policy.rules
        if outcome.throttled:
            cost, base = rules.throttling_retry_cost, rules.throttling_base
        else:
            cost = rules.timeout_retry_cost if outcome.timed_out else rules.retry_cost
            base = policy.transient_base
        if not policy.quota.acquire(cost):
            policy.quota_refusals += 1
            return None
        self.held = cost  # a success after retries returns what its last retry took
        return policy.rng.random() * min(base * 2.0 ** (outcome.attempt - 1), MAX_BACKOFF)


@dataclass
class AwsStandard:
    """The AWS SDK standard retry mode, with its default numbers (see module doc). `max_attempts` None: the rules'
    own for the service (`bind`)."""

    max_attempts: int | None = 3
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    quota: RetryQuota = field(default_factory=RetryQuota)
    name: str = "aws-standard"
    quota_refusals: int = 0
    rules: StandardRules = RULES_2020
    attempts: int = field(init=False, default=3)
    transient_base: float = field(init=False, default=0.025)

    def __post_init__(self) -> None:
        self.bind("")

    def bind(self, service: str) -> None:
        """The numbers for a client of `service` (a DNS name or a service's name): DynamoDB's own, or the others'."""
        dynamodb = service.startswith("dynamodb")
        rules = self.rules
        default = rules.dynamodb_max_attempts if dynamodb else rules.max_attempts
        self.attempts = self.max_attempts if self.max_attempts is not None else default
        self.transient_base = rules.dynamodb_transient_base if dynamodb else rules.transient_base

    def new_call(self) -> _StandardCall:
        return _StandardCall(self)

    def admit(self, now: float) -> Admission:
        return SEND

    def observe(self, outcome: Outcome, now: float) -> None:
        """Adaptive mode learns from every response; standard mode does not."""


SCALE_CONSTANT = 0.4
BETA = 0.7
MIN_FILL_RATE = 0.5
SMOOTHING = 0.8
TIME_BUCKET = 0.5
MAX_RATE_ADJUST_SCALE = 2.0


@dataclass
class CubicRateLimiter:
    """The adaptive mode's client rate limiter: a token bucket whose fill rate follows CUBIC."""

    enabled: bool = False
    fill_rate: float = 0.0
    capacity: float = 0.0
    tokens: float = 0.0
    last_refill: float | None = None
    w_max: float = 0.0
    k: float = 0.0
    last_throttle: float = 0.0
    measured_rate: float = 0.0
    _bucket_start: float | None = None
    _bucket_count: int = 0

    def acquire(self, now: float) -> float:
        """Seconds to wait for a send token (0 when the limiter is not yet enabled)."""
        if not self.enabled:
            return 0.0
        self._refill(now)
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.fill_rate

    def record(self, outcome: Outcome, now: float) -> None:
        self._measure(now)
        if outcome.throttled:
            rate = self.measured_rate if not self.enabled else min(self.measured_rate, self.fill_rate)
            self.w_max = rate
            self.k = (self.w_max * (1 - BETA) / SCALE_CONSTANT) ** (1 / 3)
            self.last_throttle = now
            new_rate = rate * BETA
            self.enabled = True
        else:
            new_rate = SCALE_CONSTANT * (now - self.last_throttle - self.k) ** 3 + self.w_max
        self._set_rate(min(new_rate, MAX_RATE_ADJUST_SCALE * self.measured_rate), now)

    def _set_rate(self, rate: float, now: float) -> None:
        self._refill(now)
        self.fill_rate = max(rate, MIN_FILL_RATE)
        self.capacity = max(rate, 1.0)
        self.tokens = min(self.tokens, self.capacity)

    def _refill(self, now: float) -> None:
        if self.last_refill is not None and self.fill_rate > 0:
            self.tokens = min(self.capacity, self.tokens + (now - self.last_refill) * self.fill_rate)
        self.last_refill = now

    def _measure(self, now: float) -> None:
        bucket = math.floor(now / TIME_BUCKET) * TIME_BUCKET
        self._bucket_count += 1
        if self._bucket_start is None:
            self._bucket_start = bucket
        elif bucket > self._bucket_start:
            current = self._bucket_count / (bucket - self._bucket_start)
            self.measured_rate = current * SMOOTHING + self.measured_rate * (1 - SMOOTHING)
            self._bucket_count = 0
            self._bucket_start = bucket


@dataclass
class AwsAdaptive(AwsStandard):
    """The AWS SDK adaptive retry mode: standard mode plus the CUBIC client rate limiter (see module doc)."""

    limiter: CubicRateLimiter = field(default_factory=CubicRateLimiter)
    name: str = "aws-adaptive"

    def admit(self, now: float) -> Admission:
        return Admission(delay=self.limiter.acquire(now))

    def observe(self, outcome: Outcome, now: float) -> None:
        if outcome.status is not None:
            self.limiter.record(outcome, now)
