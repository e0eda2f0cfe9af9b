"""The NLB's flapping, from the Network Manager's backlog and the health checks alone (virtual time)."""

from __future__ import annotations

from scenarios.declared import Call, DeclaredService, NlbConfig, Operation, ServiceCapacity, ServiceTimeSpec
from scenarios.runner import run_virtual
from services.event_kinds import EventKind
from tests.helpers import changed, shipped

CONNECT = DeclaredService(
    name="connect",
    capacity=ServiceCapacity(workers=2, queue_limit=8, service_time=ServiceTimeSpec(mean=0.05)),
    operations={"Contact": Operation(calls=(Call(service="lambda", operation="Invoke"),))},
    nlb=NlbConfig(targets=4, nodes=2, checkers=4, checker_lifetime=8, check_interval=1),
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
