"""The cascade in virtual time: DNS race -> DWFM leases lost -> congestive collapse, and the ways out of it."""

from __future__ import annotations

from functools import cache

import pytest

from services.dns import REGIONAL
from services.event_kinds import EventKind, OperatorKind
from tests.helpers import VirtualRun, changed, of_kind, run_virtual, shipped

PHASES = [
    EventKind.RECORD_EMPTIED,
    EventKind.DYNAMODB_UNREACHABLE,
    EventKind.LEASE_CHECKS_FAILING,
    EventKind.LEASES_EXPIRING,
    EventKind.LAUNCHES_FAILING,
    EventKind.RECORD_FILLED,
]


@cache
def run(name: str) -> VirtualRun:
    return run_virtual(shipped(name))


def first(run: VirtualRun, kind: EventKind) -> float:
    return next(e.t for e in run.events.events if e.kind == kind and e.data.get("name", REGIONAL) == REGIONAL)


def held_at_end(run: VirtualRun) -> int:
    dwfm = run.cloud.ec2.dwfm  # type: ignore[union-attr]
    return dwfm.held(now=run.events.events[-1].t)


def test_naive_collapses_and_stays_collapsed_after_dns_returns() -> None:
    """cascade.toml: the phases come in order, launches fail with InsufficientInstanceCapacity, and after
    restore_dns DWFM keeps doing lease work too late to count: no lasting progress to the horizon."""
    cascade = run("cascade")
    times = [first(cascade, kind) for kind in [*PHASES, EventKind.DWFM_NO_PROGRESS]]
    assert times == sorted(times)
    assert not of_kind(cascade.events, EventKind.LEASES_RECOVERED)
    fleet = cascade.cloud.ec2.dwfm.settings.droplets  # type: ignore[union-attr]
    assert held_at_end(cascade) < fleet // 10
    restored = first(cascade, EventKind.RECORD_FILLED)
    late = [outcome for t, outcome in cascade.cloud.ec2.canary.results if t > restored + 30]  # type: ignore[union-attr]
    assert late and set(late) == {"InsufficientInstanceCapacity"}
    assert cascade.cloud.ec2.dwfm.counts["abandoned"] > 10 * fleet  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["cascade-operators", "cascade-queue-admission"])
def test_operators_or_a_policy_set_recover_every_lease(name: str) -> None:
    """throttle_dwfm + restart_dwfm after the collapse, or the queue-admission policy set, get every lease back."""
    recovered = run(name)
    fleet = recovered.cloud.ec2.dwfm.settings.droplets  # type: ignore[union-attr]
    assert held_at_end(recovered) == fleet
    times = [first(recovered, kind) for kind in [*PHASES, EventKind.LEASES_RECOVERED]]
    assert times == sorted(times)
    if name == "cascade-operators":
        collapse, action = first(recovered, EventKind.DWFM_NO_PROGRESS), first(recovered, EventKind.OPERATOR_ACTION)
        assert (
            collapse
            < [e.t for e in of_kind(recovered.events, EventKind.OPERATOR_ACTION)][-1]
            < first(recovered, EventKind.LEASES_RECOVERED)
        )
        assert action < collapse  # the first operator action is restore_dns, before the collapse is seen
        assert first(recovered, EventKind.LEASES_RECOVERED) < first(recovered, EventKind.PROPAGATION_BACKLOG_DRAINED)
    else:
        assert not of_kind(recovered.events, EventKind.DWFM_NO_PROGRESS)
    assert recovered.cloud.ec2.canary.results[-1][1] == "ok"  # type: ignore[union-attr]


def test_the_collapse_comes_from_the_dynamics_not_a_script() -> None:
    """The same system without the DNS fault keeps every lease; nothing in it stops DWFM by itself."""
    calm = changed(shipped("cascade"), faults=(), operator=())
    quiet = run_virtual(calm, duration=200)
    assert held_at_end(quiet) == quiet.cloud.ec2.dwfm.settings.droplets  # type: ignore[union-attr]
    assert not of_kind(quiet.events, EventKind.DWFM_NO_PROGRESS, EventKind.LEASES_EXPIRING, EventKind.LAUNCHES_FAILING)


def test_lambda_fails_during_the_outage_and_recovers_after() -> None:
    """Invoke needs its configuration from DynamoDB: it fails once the cached copy expires, and works after DNS."""
    operators = run("cascade-operators")
    failing, recovered = (
        first(operators, EventKind.INVOCATIONS_FAILING),
        first(operators, EventKind.INVOCATIONS_RECOVERED),
    )
    assert first(operators, EventKind.RECORD_EMPTIED) < failing < first(operators, EventKind.RECORD_FILLED) < recovered
    assert operators.cloud.lambda_.results[-1][1] == 200  # type: ignore[union-attr]


def test_the_unsupervised_poller_stays_stuck_until_the_operator_restarts_it() -> None:
    """After DynamoDB errors the poller stops; DNS returning does not restart it, restart_poller does."""
    operators = run("cascade-operators")
    stuck = first(operators, EventKind.POLLER_STUCK)
    restarted = next(
        e.t
        for e in of_kind(operators.events, EventKind.OPERATOR_ACTION)
        if e.data.get("action") == OperatorKind.RESTART_POLLER
    )
    assert stuck < first(operators, EventKind.RECORD_FILLED) < restarted
    assert not of_kind(operators.events, EventKind.POLLER_RESTARTED)
    assert len([e for e in of_kind(operators.events, EventKind.POLLER_STUCK)]) == 1
    poller = operators.cloud.lambda_.poller  # type: ignore[union-attr]
    assert poller.stuck_since is None and poller.processed > 0


def test_a_supervised_poller_recovers_by_itself() -> None:
    """Supervised, the poller is restarted every 10 s; once DynamoDB answers it stays up and drains its backlog."""
    operators = shipped("cascade-operators")
    scenario = changed(operators, lambda_={"poller_supervised": True}, operator=operators.operator[:1])  # restore_dns
    supervised = run_virtual(scenario)
    restarts = of_kind(supervised.events, EventKind.POLLER_RESTARTED)
    restored = first(supervised, EventKind.RECORD_FILLED)
    assert restarts and any(e.t > restored for e in restarts)
    settled = restored + 2 * scenario.dns.negative_ttl  # a cached NODATA may still answer for a few seconds
    assert not [e for e in of_kind(supervised.events, EventKind.POLLER_STUCK) if e.t > settled]
    poller = supervised.cloud.lambda_.poller  # type: ignore[union-attr]
    assert poller.stuck_since is None and len(poller.queue) < 50
