"""A scenario's own time constants, from which its verdict's horizon is drawn (reports/verdict.py `Horizon`).

A degraded state is called stuck only once it has lasted, not coming back, an order of magnitude longer than the
slowest of the things that could bring it back by themselves: a client's deadline and backoff, a DNS answer's TTL,
a cache's, a lease's, an NLB's health checks changing their mind. These are those constants, by name.
"""

from __future__ import annotations

from reports.verdict import Horizon
from scenarios.config.policies import load_policy_set, policy_path
from scenarios.config.schema import Scenario
from services.throttling.aws import MAX_BACKOFF
from services.throttling.budgets import CircuitBreaker

# A user kind's own deadline when the [load] section sets none (loadgen/behaviour.py: the longest of them).
DEFAULT_CLIENT_TIMEOUT = 5.0


def time_constants(scenario: Scenario) -> dict[str, float]:
    """The scenario's time constants (seconds), by a name a person reads in a sentence."""
    found: dict[str, float] = {
        "the DNS TTL": float(scenario.dns.ttl),
        "the negative-answer TTL": float(scenario.dns.negative_ttl),
    }
    if scenario.load is not None:
        found["the clients' deadline"] = scenario.load.timeout or DEFAULT_CLIENT_TIMEOUT
        if scenario.load.attempt_timeout is not None:
            found["the attempt timeout"] = scenario.load.attempt_timeout
    client = load_policy_set(policy_path(scenario.policy)).client
    if client.retry in ("aws-standard", "aws-adaptive"):
        found["the SDK's backoff cap"] = MAX_BACKOFF
    elif client.retry == "exponential":
        found["the backoff cap"] = client.cap
    elif client.retry == "fixed":
        found["the retry wait"] = client.wait
    if client.limit == "circuit-breaker":
        found["the circuit breaker's window"] = CircuitBreaker.window
    if scenario.ec2 is not None:
        found["DWFM's lease"] = scenario.ec2.lease_duration
        found["DWFM's work timeout"] = scenario.ec2.item_timeout
    if scenario.lambda_ is not None:
        found["Lambda's configuration cache"] = scenario.lambda_.config_ttl
    for service in scenario.services:
        ttls = [call.cache_ttl for op in service.operations.values() for call in op.calls]
        if ttls and max(ttls) > 0:
            found[f"{service.name}'s cache"] = max(ttls)
        if service.nlb is not None:
            nlb = service.nlb
            turn = nlb.check_interval * max(nlb.healthy_threshold, nlb.unhealthy_threshold)
            found[f"{service.name}'s NLB checks"] = turn
            found[f"{service.name}'s checker lifetime"] = nlb.checker_lifetime
    return found


def horizon_of(scenario: Scenario) -> Horizon:
    """The horizon the scenario's verdict is judged over."""
    return Horizon(tuple(sorted(time_constants(scenario).items())))
