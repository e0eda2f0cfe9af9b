"""Retry schedules: none, immediate, fixed delay, and capped exponential backoff with or without jitter.

Source for the backoff formulas: Marc Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015:
- no jitter:     sleep = min(cap, base · 2^n)
- full jitter:   sleep = random(0, min(cap, base · 2^n))
- equal jitter:  t = min(cap, base · 2^n); sleep = t/2 + random(0, t/2)
- decorrelated:  sleep = min(cap, random(base, previous_sleep · 3)), starting from previous_sleep = base
where n counts retries from 0.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from services.throttling.base import SEND, Admission
from services.throttling.outcome import Outcome

Jitter = Literal["none", "full", "equal", "decorrelated"]


@dataclass
class _Schedule:
    """Retries retryable outcomes up to `max_attempts` in all, waiting `delay(n)` before retry n (0-based)."""

    policy: RetrySchedule
    previous: float = 0.0

    def before_attempt(self, attempt: int, now: float) -> Admission:
        return SEND

    def after_attempt(self, outcome: Outcome, now: float) -> float | None:
        if outcome.ok or not outcome.retryable or outcome.attempt >= self.policy.max_attempts:
            return None
        self.previous = self.policy.delay(outcome.attempt - 1, self.previous)
        return self.previous


@dataclass
class RetrySchedule:
    """A retry schedule; subclasses say how long each wait is."""

    max_attempts: int = 3
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    name: str = "retries"

    def delay(self, retry: int, previous: float) -> float:
        return 0.0

    def new_call(self) -> _Schedule:
        return _Schedule(self)


@dataclass
class NoRetry(RetrySchedule):
    """One attempt, whatever happens."""

    max_attempts: int = 1
    name: str = "none"


@dataclass
class ImmediateRetry(RetrySchedule):
    """Retry at once, up to `max_attempts` attempts in all: the herd-maker."""

    name: str = "immediate"


@dataclass
class FixedDelay(RetrySchedule):
    """Wait the same `wait` seconds before every retry."""

    wait: float = 1.0
    name: str = "fixed-delay"

    def delay(self, retry: int, previous: float) -> float:
        return self.wait


@dataclass
class ExponentialBackoff(RetrySchedule):
    """Capped exponential backoff with the jitter variants of the AWS Architecture Blog post (see module doc).

    Defaults: base 0.1 s, cap 20 s (the AWS SDKs' maximum backoff), 3 attempts (the AWS SDKs' default).
    """

    base: float = 0.1
    cap: float = 20.0
    jitter: Jitter = "full"
    name: str = "backoff"

    def delay(self, retry: int, previous: float) -> float:
        rng = self.rng
        if self.jitter == "decorrelated":
            return min(self.cap, rng.uniform(self.base, max(self.base, previous or self.base) * 3))
        ceiling = min(self.cap, self.base * 2.0**retry)
        if self.jitter == "none":
            return ceiling
        if self.jitter == "full":
            return rng.uniform(0, ceiling)
        return ceiling / 2 + rng.uniform(0, ceiling / 2)
