"""A policy set's choices as plain settings, and the policy objects built from them.

`scenarios/config/policies.py` validates a policy set file and hands these settings down; services and load generators
build their own policy objects from them (one client policy per client, one server policy per node: quotas,
budgets and adaptive limits are per client and per node).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from services.throttling.admission import (
    Admission,
    AdmitAll,
    AimdLimit,
    ConcurrencyLimit,
    GradientLimit,
    QueueSizeAdmission,
    TokenBucketLimit,
    VegasLimit,
)
from services.throttling.aws import RULES, AwsAdaptive, AwsStandard
from services.throttling.backoff import (
    ExponentialBackoff,
    FixedDelay,
    ImmediateRetry,
    Jitter,
    NoRetry,
    RetrySchedule,
)
from services.throttling.base import ClientPolicy
from services.throttling.budgets import CircuitBreaker, FinagleRetryBudget, GrpcRetryThrottling, SreAdaptiveThrottling
from services.throttling.disciplines import CoDel, Discipline, Fifo, Lifo, QueueAgeShedding

Retry = Literal["none", "immediate", "fixed", "exponential", "aws-standard", "aws-adaptive"]
Limit = Literal["none", "grpc", "finagle", "sre", "circuit-breaker"]
AdmissionKind = Literal["none", "token-bucket", "concurrency", "queue-size", "aimd", "vegas", "gradient"]
DisciplineKind = Literal["fifo", "lifo", "codel", "queue-age"]


@dataclass(frozen=True)
class ClientSettings:
    """How a client retries (`retry`, with its numbers) and what limits its retries (`limit`)."""

    retry: Retry = "none"
    max_attempts: int | None = 3  # None: the retry mode's own (aws-standard's 2026 rules: 4 for DynamoDB)
    base: float = 0.1
    cap: float = 20.0
    jitter: Jitter = "full"
    wait: float = 1.0
    limit: Limit = "none"
    rules: Literal["2020", "2026"] = (
        "2020"  # which revision of the AWS SDKs' standard mode (services/throttling/aws.py)
    )


@dataclass(frozen=True)
class ServerSettings:
    """How a node admits work (`admission`), orders its queue (`discipline`), and whether it drops expired work."""

    admission: AdmissionKind = "none"
    rate: float = 100.0
    burst: int = 100
    limit: int = 100
    max_queue: int = 100
    discipline: DisciplineKind = "fifo"
    max_age: float = 0.1
    drop_expired: bool = False
    nlb_max_removed_share: float | None = None  # velocity control for the NLBs (services/topology/nlb_health.py)


def client_policy(settings: ClientSettings, rng: random.Random) -> ClientPolicy:
    """A fresh client-side policy object (one per client: quotas and budgets are per client)."""
    c = settings
    if c.retry == "aws-standard":
        return AwsStandard(max_attempts=c.max_attempts, rng=rng, rules=RULES[c.rules])
    if c.retry == "aws-adaptive":
        return AwsAdaptive(max_attempts=c.max_attempts, rng=rng, rules=RULES[c.rules])
    attempts = c.max_attempts if c.max_attempts is not None else 3
    schedule: RetrySchedule
    if c.retry == "none":
        schedule = NoRetry(rng=rng)
    elif c.retry == "immediate":
        schedule = ImmediateRetry(max_attempts=attempts, rng=rng)
    elif c.retry == "fixed":
        schedule = FixedDelay(max_attempts=attempts, wait=c.wait, rng=rng)
    else:
        schedule = ExponentialBackoff(max_attempts=attempts, base=c.base, cap=c.cap, jitter=c.jitter, rng=rng)
    if c.limit == "grpc":
        return GrpcRetryThrottling(schedule=schedule)
    if c.limit == "finagle":
        return FinagleRetryBudget(schedule=schedule)
    if c.limit == "sre":
        return SreAdaptiveThrottling(schedule=schedule, rng=rng)
    if c.limit == "circuit-breaker":
        return CircuitBreaker(schedule=schedule)
    return schedule


def bind_service(policy: ClientPolicy, service: str) -> None:
    """Tell a client's policy which service it calls, for rules that differ by service (the AWS SDKs' 2026 standard
    mode: DynamoDB's 4 attempts and 25-ms base)."""
    if isinstance(policy, AwsStandard):
        policy.bind(service)


@dataclass(frozen=True)
class ServerPolicy:
    admission: Admission
    discipline: Discipline[Any]
    drop_expired: bool


def server_policy(settings: ServerSettings) -> ServerPolicy:
    """Fresh server-side objects (one per node: adaptive limits are per node)."""
    s = settings
    admissions: dict[str, Callable[[], Admission]] = {
        "none": AdmitAll,
        "token-bucket": lambda: TokenBucketLimit(rate=s.rate, burst=s.burst),
        "concurrency": lambda: ConcurrencyLimit(limit=s.limit),
        "queue-size": lambda: QueueSizeAdmission(max_queue=s.max_queue),
        "aimd": AimdLimit,
        "vegas": VegasLimit,
        "gradient": GradientLimit,
    }
    disciplines: dict[str, Callable[[], Discipline[Any]]] = {
        "fifo": Fifo,
        "lifo": Lifo,
        "codel": CoDel,
        "queue-age": lambda: QueueAgeShedding(max_age=s.max_age),
    }
    return ServerPolicy(admissions[s.admission](), disciplines[s.discipline](), s.drop_expired)
