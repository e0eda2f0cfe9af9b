"""The NLB's flapping, from the Network Manager's backlog and the health checks alone (virtual time)."""

from __future__ import annotations

from scenarios.config.capacity_config import CapacityConfig, ServiceTimeConfig
from scenarios.config.declared_services import DeclaredCall, DeclaredService, NlbConfig, Operation
from scenarios.config.schema import DisableNlbFailover
from services.event_kinds import EventKind, OperatorKind
from tests.helpers import changed, run_virtual, shipped

CONNECT_NLB = NlbConfig(targets=4, nodes=2, checkers=4, checker_lifetime=8, check_interval=1)
CONNECT = DeclaredService(
    name="connect",
    capacity=CapacityConfig(workers=2, queue_limit=8, service_time=ServiceTimeConfig(mean=0.05)),
    operations={"Contact": Operation(calls=(DeclaredCall(service="lambda", operation="Invoke"),))},
    nlb=CONNECT_NLB,
)


def _cycles(propagation_time: float) -> tuple[list[float], list[float]]:
    scenario = shipped("cascade-live")
    assert scenario.load is not None and scenario.ec2 is not None
    load = changed(scenario.load, mix={"dynamodb": 6, "ec2": 2, "lambda": 2, "connect": 4})
    scenario = changed(scenario, services=(CONNECT,), load=load, ec2={"propagation_time": propagation_time})
    events = run_virtual(scenario).events.events
    return (
        [e.t for e in events if e.kind == EventKind.NLB_TARGET_OUT],
        [e.t for e in events if e.kind == EventKind.NLB_TARGET_IN],
    )


def test_targets_cycle_out_and_in_only_with_a_propagation_backlog() -> None:
    """cascade-live with a service behind an NLB: once DWFM's recovered droplets queue up at the Network Manager
    (after the operators' fix), new health checkers wait for their network state, their checks fail, and targets go
    out and come back; with a fast Network Manager (same scenario), nothing goes out."""
    outs, ins = _cycles(0.2)
    assert len(outs) >= 2 and len(ins) >= 2
    assert min(outs) > 100  # the backlog of the DWFM fix at 110 s, not the start
    assert _cycles(0.02) == ([], [])


def _tight(
    share: float | None, operator: tuple[object, ...] = (), policy: str = "naive"
) -> tuple[list[float], list[int], float, int]:
    """Eight targets checked by two checkers (four each), tight capacity: a new checker's failures take four
    targets out at once. Returns the removals' times, the removals per interval, and the service's error share
    from 110 s to 150 s (the backlog after the operators' fix), and how many targets are in service at the end."""
    connect = changed(
        CONNECT,
        capacity=CapacityConfig(workers=1, queue_limit=4, service_time=ServiceTimeConfig(mean=0.3)),
        operations={
            "Contact": Operation(calls=(DeclaredCall(service="dynamodb", operation="GetItem", table="contacts"),))
        },
        nlb=NlbConfig(targets=8, nodes=2, checkers=2, checker_lifetime=8, check_interval=1, max_removed_share=share),
    )
    scenario = shipped("cascade-live")
    assert scenario.load is not None
    load = changed(scenario.load, mix={"dynamodb": 6, "ec2": 2, "lambda": 2, "connect": 10})
    scenario = changed(
        scenario,
        services=(connect,),
        load=load,
        ec2={"propagation_time": 0.2},
        operator=(*scenario.operator, *operator),
        policy=policy,
    )
    run = run_virtual(scenario)
    assert run.users is not None
    asked = ok = 0
    for (second, kind), counts in run.users.outcomes.rows.items():
        if kind == "connect" and 110 <= second < 150:
            asked, ok = asked + counts["logical"], ok + counts["ok"]
    outs = [e.t for e in run.events.events if e.kind == EventKind.NLB_TARGET_OUT]
    nlb = run.cloud.nlbs[0]
    return outs, nlb.removed_per_interval, 1 - ok / asked, len(nlb.target_health.in_service())


def test_velocity_control_caps_each_intervals_removals_and_lowers_the_error_rate() -> None:
    """Without velocity control an interval takes four of the eight targets out; with max_removed_share 0.25, no
    interval removes more than two, and the service's error share during the flapping is lower."""
    _, free, errors_free, _ = _tight(None)
    _, capped, errors_capped, _ = _tight(0.25)
    assert max(free) > 2 and max(capped) <= 2
    assert errors_capped < errors_free


def test_disabling_nlb_failover_ends_the_flapping() -> None:
    """The operators' disable_nlb_failover at 115 s: every target back in service, none out after it, though the
    backlog lasts (without the action, targets still go out after 115 s)."""
    action = DisableNlbFailover(kind=OperatorKind.DISABLE_NLB_FAILOVER, at=115)
    outs, _, _, in_service = _tight(None, (action,))
    flapping, _, _, _ = _tight(None)
    assert [t for t in flapping if t > 115]
    assert not [t for t in outs if t > 115] and in_service == 8


def test_velocity_control_comes_with_the_policy_set_that_has_it() -> None:
    """queue-admission (AWS's post-incident fixes) caps every NLB at a quarter of its targets an interval, where the
    service's own [nlb] says nothing."""
    _, removed, _, _ = _tight(None, policy="queue-admission")
    assert removed and max(removed) <= 2


def _flapping(check_capacity: float | None, disable_at: float) -> list[float]:
    """cascade-live for 400 s with CONNECT's NLB, its check fleet doing `check_capacity` checks' worth of work an
    interval (each membership change costing 4), and the operators disabling failover at `disable_at`: the times
    targets were taken out."""
    nlb = changed(CONNECT_NLB, check_capacity=check_capacity, change_cost=4.0)
    scenario = shipped("cascade-live")
    assert scenario.load is not None
    load = changed(
        scenario.load,
        mix={"dynamodb": 6, "ec2": 2, "lambda": 2, "connect": 4},
        stages=(changed(scenario.load.stages[0], until=400),),
    )
    action = DisableNlbFailover(kind=OperatorKind.DISABLE_NLB_FAILOVER, at=disable_at)
    scenario = changed(
        scenario,
        services=(changed(CONNECT, nlb=nlb),),
        load=load,
        ec2={"propagation_time": 0.2},
        operator=(*scenario.operator, action),
        duration=400,
    )
    run = run_virtual(scenario)
    drained = [e.t for e in run.events.events if e.kind == EventKind.PROPAGATION_BACKLOG_DRAINED]
    assert drained and drained[0] < 150  # the backlog that started it is long gone before the end
    actions = [e for e in run.events.events if e.kind == EventKind.OPERATOR_ACTION]
    assert [e.t for e in actions if e.data["action"] == OperatorKind.DISABLE_NLB_FAILOVER] == [disable_at]
    return [e.t for e in run.events.events if e.kind == EventKind.NLB_TARGET_OUT]


def test_a_check_fleet_that_its_own_changes_overload_keeps_flapping_until_failover_is_disabled() -> None:
    """With a check capacity barely above the checks, the flapping that the backlog started goes on long after the
    backlog drained (each change costs the fleet work, late checks fail: AWS's "increased the load on the health
    check subsystem"), until the operators disable failover at 300 s; without the limit it ends with the backlog."""
    looping = _flapping(7, 300)
    assert [t for t in looping if 250 < t < 300] and not [t for t in looping if t > 300]
    assert not [t for t in _flapping(None, 300) if t > 150]
