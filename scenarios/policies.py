"""Policy sets: named bundles of client, server and resolver choices (`scenarios/policies/*.toml`).

A policy set is validated like a scenario (frozen models, unknown keys refused, one-line errors naming the file
and the field) and turned into the objects of `services.throttling` by `client_policy` and `server_policy`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from scenarios.problems import ScenarioError, describe, read_toml
from scenarios.schema import ConfigModel, PositiveSeconds
from services.throttling import (
    AdmitAll,
    AimdLimit,
    AwsAdaptive,
    AwsStandard,
    CircuitBreaker,
    ClientPolicy,
    CoDel,
    ConcurrencyLimit,
    ExponentialBackoff,
    Fifo,
    FinagleRetryBudget,
    FixedDelay,
    GradientLimit,
    GrpcRetryThrottling,
    ImmediateRetry,
    Lifo,
    NoRetry,
    QueueAgeShedding,
    QueueSizeAdmission,
    RetrySchedule,
    SreAdaptiveThrottling,
    TokenBucketLimit,
    VegasLimit,
)
from services.throttling.admission import Admission
from services.throttling.disciplines import Discipline

POLICY_DIR = Path(__file__).parent / "policies"


class ClientConfig(ConfigModel):
    retry: Literal["none", "immediate", "fixed", "exponential", "aws-standard", "aws-adaptive"] = "none"
    max_attempts: int = Field(3, ge=1, le=100)
    base: PositiveSeconds = 0.1
    cap: PositiveSeconds = 20.0
    jitter: Literal["none", "full", "equal", "decorrelated"] = "full"
    wait: PositiveSeconds = 1.0
    limit: Literal["none", "grpc", "finagle", "sre", "circuit-breaker"] = "none"


class ServerConfig(ConfigModel):
    admission: Literal["none", "token-bucket", "concurrency", "queue-size", "aimd", "vegas", "gradient"] = "none"
    rate: PositiveSeconds = 100.0
    burst: int = Field(100, ge=1)
    limit: int = Field(100, ge=1)
    max_queue: int = Field(100, ge=0)
    discipline: Literal["fifo", "lifo", "codel", "queue-age"] = "fifo"
    max_age: PositiveSeconds = 0.1
    drop_expired: bool = False


class ResolverConfig(ConfigModel):
    serve_stale: bool = False
    last_known_good: bool = False


class PolicySet(ConfigModel):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    client: ClientConfig = ClientConfig()
    server: ServerConfig = ServerConfig()
    resolver: ResolverConfig = ResolverConfig()


def policy_path(policy: str) -> Path:
    """Where a scenario's `policy` lives: a shipped set's name, or a policy set file of your own (*.toml)."""
    return Path(policy) if policy.endswith(".toml") else POLICY_DIR / f"{policy}.toml"


def load_policy_set(path: str | Path) -> PolicySet:
    path = Path(path)
    data = read_toml(path)
    try:
        return PolicySet.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {describe(exc)}") from None


def policy_sets(directory: Path = POLICY_DIR) -> dict[str, PolicySet]:
    """Every policy set in `directory`, by name; raises ScenarioError on the first broken file."""
    sets = {}
    for path in sorted(directory.glob("*.toml")):
        policy = load_policy_set(path)
        if policy.name != path.stem:
            raise ScenarioError(f"{path}: name = {policy.name!r}: must match the file name ({path.stem!r})")
        sets[policy.name] = policy
    return sets


def client_policy(policy: PolicySet, rng: random.Random) -> ClientPolicy:
    """A fresh client-side policy object (one per client: quotas and budgets are per client)."""
    c = policy.client
    if c.retry == "aws-standard":
        return AwsStandard(max_attempts=c.max_attempts, rng=rng)
    if c.retry == "aws-adaptive":
        return AwsAdaptive(max_attempts=c.max_attempts, rng=rng)
    schedule: RetrySchedule
    if c.retry == "none":
        schedule = NoRetry(rng=rng)
    elif c.retry == "immediate":
        schedule = ImmediateRetry(max_attempts=c.max_attempts, rng=rng)
    elif c.retry == "fixed":
        schedule = FixedDelay(max_attempts=c.max_attempts, wait=c.wait, rng=rng)
    else:
        schedule = ExponentialBackoff(max_attempts=c.max_attempts, base=c.base, cap=c.cap, jitter=c.jitter, rng=rng)
    if c.limit == "grpc":
        return GrpcRetryThrottling(schedule=schedule)
    if c.limit == "finagle":
        return FinagleRetryBudget(schedule=schedule)
    if c.limit == "sre":
        return SreAdaptiveThrottling(schedule=schedule, rng=rng)
    if c.limit == "circuit-breaker":
        return CircuitBreaker(schedule=schedule)
    return schedule


@dataclass(frozen=True)
class ServerPolicy:
    admission: Admission
    discipline: Discipline[Any]
    drop_expired: bool


def server_policy(policy: PolicySet) -> ServerPolicy:
    """Fresh server-side objects (one per node: adaptive limits are per node)."""
    s = policy.server
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
