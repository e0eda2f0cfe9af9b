"""Client-side policies pinned to their sources' defining behaviour and default numbers."""

from __future__ import annotations

import random

import pytest

from services.throttling.aws import BETA, SCALE_CONSTANT, AwsAdaptive, AwsStandard
from services.throttling.backoff import ExponentialBackoff, FixedDelay, ImmediateRetry, Jitter, NoRetry
from services.throttling.budgets import CircuitBreaker, FinagleRetryBudget, GrpcRetryThrottling, SreAdaptiveThrottling
from services.throttling.outcome import Outcome

THROTTLED = 400, "ThrottlingException"


def fail(attempt: int, code: str = "ThrottlingException", status: int = 400) -> Outcome:
    return Outcome(attempt, status, code)


def ok(attempt: int = 1) -> Outcome:
    return Outcome(attempt, 200)


def waits(policy: ExponentialBackoff | FixedDelay | ImmediateRetry | NoRetry, failures: int) -> list[float | None]:
    call = policy.new_call()
    return [call.after_attempt(fail(n), 0.0) for n in range(1, failures + 1)]


def test_schedules_retry_only_retryable_outcomes_up_to_max_attempts() -> None:
    """None retries nothing; immediate retries at once; fixed waits the same; 4xx other than throttling are final."""
    assert waits(NoRetry(), 1) == [None]
    assert waits(ImmediateRetry(max_attempts=3), 3) == [0.0, 0.0, None]
    assert waits(FixedDelay(wait=0.5, max_attempts=3), 3) == [0.5, 0.5, None]
    assert ImmediateRetry().new_call().after_attempt(fail(1, "ValidationException"), 0) is None
    assert ImmediateRetry().new_call().after_attempt(Outcome(1, failure="timed out after 1 s"), 0) == 0.0
    assert ImmediateRetry().new_call().after_attempt(Outcome(1, 503, "ServiceUnavailable"), 0) == 0.0


def test_backoff_formulas_are_the_blog_posts() -> None:
    """no jitter = min(cap, base·2^n); full ∈ [0, that]; equal ∈ [that/2, that]; decorrelated ∈ [base, 3·previous]."""
    assert waits(ExponentialBackoff(base=0.1, cap=1.0, jitter="none", max_attempts=7), 6) == [
        0.1,
        0.2,
        0.4,
        0.8,
        1.0,
        1.0,
    ]
    rng = random.Random(1)
    bounds: tuple[tuple[Jitter, float, float], ...] = (("full", 0.0, 1.0), ("equal", 0.5, 1.0))
    for jitter, low, high in bounds:
        policy = ExponentialBackoff(base=0.1, cap=1.0, jitter=jitter, rng=rng)
        draws = [policy.delay(n, 0.0) / min(1.0, 0.1 * 2**n) for n in range(8) for _ in range(200)]
        assert low <= min(draws) and max(draws) <= high and max(draws) - min(draws) > 0.4
    decorrelated = ExponentialBackoff(base=0.1, cap=5.0, jitter="decorrelated", rng=rng)
    previous = 0.0
    for n in range(50):
        wait = decorrelated.delay(n, previous)
        assert 0.1 <= wait <= min(5.0, 3 * max(previous, 0.1))
        previous = wait


def test_aws_standard_quota_is_exhausted_after_100_retries_without_success() -> None:
    """500 tokens at 5 per retry: exactly 100 retries, then failures are final until successes refill it."""
    policy = AwsStandard(rng=random.Random(2))
    retries = 0
    for _ in range(80):
        call = policy.new_call()
        for attempt in (1, 2, 3):
            if call.after_attempt(fail(attempt), 0.0) is None:
                break
            retries += 1
    assert retries == 100 and policy.quota.available == 0
    call = policy.new_call()
    assert call.after_attempt(ok(), 0.0) is None and policy.quota.available == 1  # +1 for a success without retry


def test_aws_standard_costs_and_waits() -> None:
    """A timeout costs 10, a success after a retry returns its cost, waits are full jitter on 1 s (throttling)."""
    policy = AwsStandard(rng=random.Random(3))
    call = policy.new_call()
    assert call.after_attempt(Outcome(1, failure="timed out after 5 s"), 0.0) is not None
    assert policy.quota.available == 490
    assert call.after_attempt(ok(2), 0.0) is None and policy.quota.available == 500
    draws = [AwsStandard(rng=random.Random(s)).new_call().after_attempt(fail(2), 0.0) for s in range(300)]
    assert all(d is not None and 0 <= d <= 2.0 for d in draws) and max(d or 0 for d in draws) > 1.5
    assert AwsStandard().new_call().after_attempt(fail(3), 0.0) is None  # 3 attempts by default


def test_aws_adaptive_rate_limits_only_after_throttling_and_follows_cubic() -> None:
    """No limiter until the first throttle; then the rate drops by β and recovers to W_max after K seconds."""
    policy = AwsAdaptive(rng=random.Random(4))
    limiter = policy.limiter
    for i in range(200):  # 20 requests/s of successes for 10 s
        now = i * 0.05
        assert policy.new_call().before_attempt(1, now).delay == 0.0
        policy.observe(ok(), now)
    assert not limiter.enabled
    measured = limiter.measured_rate
    assert measured == pytest.approx(20, rel=0.1)
    policy.observe(fail(1), 10.0)
    assert limiter.enabled and limiter.fill_rate == pytest.approx(BETA * limiter.w_max)
    k = (limiter.w_max * (1 - BETA) / SCALE_CONSTANT) ** (1 / 3)
    assert limiter.k == pytest.approx(k)
    delays = [policy.admit(10.0 + i * 0.001).delay for i in range(40)]
    assert delays[-1] > 0  # a burst beyond the bucket must wait
    policy.limiter.record(ok(), 10.0 + k)
    assert limiter.fill_rate == pytest.approx(min(limiter.w_max, 2 * limiter.measured_rate), rel=0.01)


def test_grpc_throttling_stops_retrying_once_failures_exceed_the_ratio() -> None:
    """Tokens 10, −1 per failure, +0.1 per success, retry only above 5: failures above 1/11 of calls stop retries."""
    for failure_rate, retries_stop in ((0.05, False), (0.2, True)):
        policy = GrpcRetryThrottling(schedule=ImmediateRetry(max_attempts=2))
        rng = random.Random(5)
        refused_late = 0
        for i in range(2000):
            call = policy.new_call()
            outcome = fail(1) if rng.random() < failure_rate else ok()
            decision = call.after_attempt(outcome, float(i))
            if i > 1000 and not outcome.ok and decision is None:
                refused_late += 1
        assert (refused_late > 0) is retries_stop
        assert (policy.tokens <= 5) is retries_stop


def test_finagle_budget_never_lets_retries_exceed_20_percent_plus_10_per_second() -> None:
    """1,000 requests over 10 s, all failing: at most 0.2 · 1000 + 10/s · 10 s = 300 retries in the window."""
    policy = FinagleRetryBudget(schedule=ImmediateRetry(max_attempts=2))
    granted = 0
    for i in range(1000):
        now = i * 0.01
        call = policy.new_call()
        call.before_attempt(1, now)
        if call.after_attempt(fail(1), now) is not None:
            granted += 1
    assert granted == 300
    later = policy.new_call()  # deposits and withdrawals older than the 10 s ttl expire
    later.before_attempt(1, 25.0)
    assert later.after_attempt(fail(1), 25.0) is not None


def test_sre_adaptive_throttling_rejects_with_the_books_probability() -> None:
    """p = max(0, (requests − 2·accepts) / (requests + 1)): 0 while half are accepted, → 1 when none are."""
    policy = SreAdaptiveThrottling(rng=random.Random(6))
    for i in range(100):
        policy.new_call().before_attempt(1, float(i) * 0.1)
        policy.record(ok() if i % 2 == 0 else fail(1), float(i) * 0.1)
    assert policy.rejection_probability(10.0) == 0.0
    for i in range(300):
        call = policy.new_call()
        if call.before_attempt(1, 10.0 + i * 0.1).allowed:
            policy.record(fail(1), 10.0 + i * 0.1)
    requests, accepts = 400, 50
    assert policy.rejection_probability(40.0) == pytest.approx((requests - 2 * accepts) / (requests + 1), abs=0.01)
    assert policy.rejected > 100
    assert policy.rejection_probability(200.0) == 0.0  # the 2-minute window forgets


def test_circuit_breaker_opens_rejects_then_half_opens() -> None:
    """Hystrix defaults: ≥ 20 calls with ≥ 50 % failures open it for 5 s; one trial then closes or reopens it."""
    breaker = CircuitBreaker()
    for i in range(19):
        breaker.record(fail(1, "InternalServerError", 500), i * 0.1)
    assert breaker.state == "closed"
    breaker.record(fail(1, "InternalServerError", 500), 2.0)
    assert breaker.state == "open"
    assert not breaker.admit(1, 3.0).allowed
    assert breaker.admit(1, 7.1).allowed and breaker.state == "half-open"
    assert not breaker.admit(1, 7.2).allowed  # only one trial at a time
    breaker.record(fail(1, "InternalServerError", 500), 7.3)
    assert breaker.state == "open"
    assert breaker.admit(1, 12.4).allowed
    breaker.record(ok(), 12.5)
    assert breaker.state == "closed" and breaker.admit(1, 12.6).allowed


def test_aws_standard_2026_rules_by_service() -> None:
    """botocore 1.44's standard mode: DynamoDB 4 attempts and a 25-ms transient base, others 3 and 50 ms; 14 tokens
    a transient retry (a timeout too), 5 a throttling one; a max_attempts the policy sets wins."""
    from services.throttling.aws import RULES_2026
    from services.throttling.settings import bind_service

    dynamodb = AwsStandard(max_attempts=None, rng=random.Random(5), rules=RULES_2026)
    bind_service(dynamodb, "dynamodb.us-east-1.cloud.test")
    call = dynamodb.new_call()
    waits = [call.after_attempt(fail(n, "InternalServerError", 500), 0.0) for n in (1, 2, 3)]
    assert all(w is not None and w <= 0.025 * 2 ** (n - 1) for n, w in enumerate(waits, 1))
    assert (
        call.after_attempt(fail(4, "InternalServerError", 500), 0.0) is None
        and dynamodb.quota.available == 500 - 3 * 14
    )
    timed_out = dynamodb.new_call()
    assert timed_out.after_attempt(Outcome(1, failure="timed out after 2 s"), 0.0) is not None
    assert dynamodb.quota.available == 500 - 4 * 14
    throttled = dynamodb.new_call().after_attempt(Outcome(1, 400, "ThrottlingException"), 0.0)
    assert throttled is not None and dynamodb.quota.available == 500 - 4 * 14 - 5

    ec2 = AwsStandard(max_attempts=None, rng=random.Random(6), rules=RULES_2026)
    bind_service(ec2, "ec2.us-east-1.cloud.test")
    call = ec2.new_call()
    assert [call.after_attempt(fail(n, "InternalServerError", 500), 0.0) is not None for n in (1, 2, 3)] == [
        True,
        True,
        False,
    ]
    draws = [
        AwsStandard(rng=random.Random(s), rules=RULES_2026)
        .new_call()
        .after_attempt(fail(1, "InternalServerError", 500), 0.0)
        for s in range(200)
    ]
    assert max(d or 0 for d in draws) <= 0.05 and max(d or 0 for d in draws) > 0.04
    fixed = AwsStandard(max_attempts=2, rules=RULES_2026)
    bind_service(fixed, "dynamodb")
    assert fixed.new_call().after_attempt(fail(2, "InternalServerError", 500), 0.0) is None
