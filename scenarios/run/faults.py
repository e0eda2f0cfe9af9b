"""Plays a scenario's faults and operator actions against a running Cloud, at their simulated times.

A fault only changes a component's conditions (an Enactor's delay, the Planner's interval, a router's health);
what follows from it is up to the simulated system. Windowed faults are undone when their window ends.

An operator action comes at its second (`at`), or `delay` seconds after the first event of a kind (`after`: the
record emptied, DWFM stopped progressing, an NLB flapping, or another operator action taken); with `when`, it is
taken only if its condition holds at that moment, and otherwise skipped, which the log says (`operator_skipped`).
So in a variant where DNS never empties, nobody restores it, nor throttles a DWFM that never collapsed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from scenarios.config.schema import (
    Condition,
    DisableNlbFailover,
    EnactorDelay,
    Fault,
    KillNode,
    LoadSpike,
    OperatorAction,
    PlannerChurn,
    RelaxThrottles,
    RestartDwfm,
    RestartPoller,
    RestoreDns,
    Scenario,
    SlowNode,
    ThrottleDwfm,
)
from services import runtime
from services.dns import REGIONAL
from services.event_kinds import EventKind, FaultKind
from services.events import Event
from services.node.capacity import CapacityModel
from services.topology.cloud import Cloud


@dataclass(frozen=True)
class _Step:
    at: float
    order: int
    kind: EventKind | None  # what the step logs (None: an operator action, which reports itself)
    message: str
    apply: Callable[[], None]
    fault: FaultKind | None = None  # the fault a fault step starts or ends
    window: tuple[float, float | None] = (0.0, None)  # the fault's start and end (None: it does not end)


def timeline(scenario: Scenario, cloud: Cloud) -> list[_Step]:
    """Every fault start, fault end and operator action, in time order."""
    steps: list[_Step] = []
    for fault in scenario.faults:
        window = (fault.at, None if fault.duration is None else fault.at + fault.duration)
        steps.extend(replace(s, fault=fault.kind, window=window) for s in _fault_steps(fault, cloud, len(steps)))
    for action in scenario.operator:
        if action.at is not None and (step := _operator_step(action, cloud, len(steps))) is not None:
            steps.append(replace(step, at=action.at))
    return sorted(steps, key=lambda s: (s.at, s.order))


def _operator_step(action: OperatorAction, cloud: Cloud, order: int) -> _Step | None:
    """What an operator action does (None: this cloud has nothing it applies to), at its `at` or 0."""
    apply: Callable[[], None] | None = None
    if isinstance(action, RestoreDns):
        apply = cloud.dns.restore_dns
    elif cloud.ec2 is not None and isinstance(action, ThrottleDwfm):
        apply = partial(cloud.ec2.dwfm.throttle, action.rate)
    elif cloud.ec2 is not None and isinstance(action, RestartDwfm):
        apply = cloud.ec2.dwfm.restart
    elif cloud.ec2 is not None and isinstance(action, RelaxThrottles):
        apply = cloud.ec2.dwfm.relax
    elif isinstance(action, DisableNlbFailover):
        apply = cloud.disable_nlb_failover
    elif cloud.lambda_ is not None and isinstance(action, RestartPoller):
        apply = partial(cloud.lambda_.poller.restart, "operator")
    return None if apply is None else _Step(action.at or 0.0, order, None, action.kind, apply)


def holds(condition: Condition, cloud: Cloud) -> bool:
    """Whether an operator's condition holds now (schema.Condition says what each means)."""
    if condition == "record_empty":
        record = cloud.dns.zone.get(REGIONAL)
        return record is None or record.empty
    if condition == "nlb_flapping":
        return any(nlb.flapping() for nlb in cloud.nlbs)
    if condition == "poller_stuck":
        return cloud.lambda_ is not None and cloud.lambda_.poller.stuck_since is not None
    ec2 = cloud.ec2
    if ec2 is None:
        return False
    if condition == "dwfm_stalled":
        return ec2.dwfm.held() < ec2.dwfm.settings.droplets
    return ec2.dwfm.intake is not None  # dwfm_throttled


class _Anchors:
    """When each kind of event first happened (an operator action's kind counts as one), and a way to wait for it."""

    def __init__(self, cloud: Cloud) -> None:
        self.seen: dict[str, float] = {}
        self._waiting: dict[str, runtime.Event] = {}
        for event in cloud.events.events:  # those kept from before the actions started playing
            self._note(event)
        cloud.events.subscribe(self._note)

    def _note(self, event: Event) -> None:
        kind = str(event.data.get("action")) if event.kind == EventKind.OPERATOR_ACTION else str(event.kind)
        if kind not in self.seen:
            self.seen[kind] = event.t
            if kind in self._waiting:
                self._waiting[kind].set()

    async def first(self, kind: str) -> float:
        """When `kind` first happened, waiting for it if it has not yet."""
        if kind not in self.seen:
            await self._waiting.setdefault(kind, runtime.Event()).wait()
        return self.seen[kind]


async def _when_seen(action: OperatorAction, step: _Step, anchors: _Anchors, cloud: Cloud) -> None:
    assert action.after is not None
    seen = await anchors.first(action.after)
    await runtime.sleep(max(0.0, seen + action.delay - cloud.events.now()))
    if action.when is not None and not holds(action.when, cloud):
        cloud.events.emit(
            EventKind.OPERATOR_SKIPPED,
            "operator",
            f"{action.kind} not taken: {action.delay:g} s after {action.after}, {action.when} no longer holds",
            action=action.kind,
            condition=action.when,
        )
        return
    step.apply()


def _fault_steps(fault: Fault, cloud: Cloud, base: int) -> list[_Step]:
    """The steps of one fault: it starts, and (when it has a duration) it ends."""
    start, end = _fault_actions(fault, cloud)
    steps = [_Step(fault.at, base, EventKind.FAULT_START, start[0], start[1])]
    if fault.duration is not None:
        steps.append(_Step(fault.at + fault.duration, base + 1, EventKind.FAULT_END, end[0], end[1]))
    return steps


Action = tuple[str, Callable[[], None]]


def _fault_actions(fault: Fault, cloud: Cloud) -> tuple[Action, Action]:
    """What a fault's start and end say and do, each through the component's own typed method."""
    if isinstance(fault, KillNode):
        node = cloud.nodes()[fault.node]
        return (f"{fault.node} is killed", node.kill), (f"{fault.node} is back", node.revive)
    if isinstance(fault, SlowNode):
        model = _capacity_of(cloud, fault.node)
        return (
            (f"{fault.node} is {fault.factor:g}x slower", lambda: model().set_slowdown(fault.factor)),
            (f"{fault.node} at normal speed again", lambda: model().set_slowdown(1.0)),
        )
    if isinstance(fault, LoadSpike):  # the load engines read spikes from the scenario; here they are only noted
        return (f"load spike: {fault.factor:g}x the users", _nothing), ("load back to its stages", _nothing)
    if isinstance(fault, EnactorDelay):
        enactor = cloud.dns.enactors[fault.enactor]
        return (
            (
                f"Enactor {fault.enactor} slowed: +{fault.delay:g} s before each endpoint's change batch",
                lambda: enactor.set_delay(fault.delay),
            ),
            (f"Enactor {fault.enactor} back to normal speed", lambda: enactor.set_delay(0.0)),
        )
    if isinstance(fault, PlannerChurn):
        planner = cloud.dns.planner
        normal = planner.plan_interval
        return (
            (
                f"Planner churn: a new plan every {fault.plan_interval:g} s",
                lambda: planner.set_plan_interval(fault.plan_interval),
            ),
            (f"Planner back to a plan every {normal:g} s", lambda: planner.set_plan_interval(normal)),
        )
    router = cloud.routers[fault.router - 1]
    return (
        (f"{router.name} fails its health checks", lambda: router.set_healthy(False)),
        (f"{router.name} healthy again", lambda: router.set_healthy(True)),
    )


def _nothing() -> None:
    return None


def _capacity_of(cloud: Cloud, node: str) -> Callable[[], CapacityModel]:
    """The capacity model of a named node, looked up when used (a DWFM restart replaces its model)."""
    if node.startswith("router-"):
        router = cloud.routers[int(node.removeprefix("router-")) - 1]
        return lambda: router.capacity
    if node == "lambda" and cloud.lambda_ is not None:
        function = cloud.lambda_.function
        return lambda: function.capacity
    ec2 = cloud.ec2
    if ec2 is None:
        raise ValueError(f"{node}: this cloud has no such node")
    return {
        "ec2-api": lambda: ec2.api.capacity,
        "dwfm": lambda: ec2.dwfm.capacity,
        "netmgr": lambda: ec2.netmgr.capacity,
    }[node]


async def play(scenario: Scenario, cloud: Cloud) -> None:
    """Apply each step when its time comes (relative to the event log's start), and each operator action timed from
    an event once that event has come; returns after the last (an action whose event never comes waits until the
    run ends)."""
    anchors = _Anchors(cloud)
    async with runtime.create_task_group() as tg:
        for index, action in enumerate(scenario.operator):
            if action.after is not None and (step := _operator_step(action, cloud, index)) is not None:
                tg.start_soon(_when_seen, action, step, anchors, cloud)
        for step in timeline(scenario, cloud):
            await runtime.sleep(max(0.0, step.at - cloud.events.now()))
            _take(step, cloud)


def _take(step: _Step, cloud: Cloud) -> None:
    """Log a step (operator actions report themselves, with what they did) and do it."""
    if step.kind is not None:
        start, end = step.window
        cloud.events.emit(step.kind, "faults", step.message, fault=step.fault, start=start, end=end)
    step.apply()


OPERATOR_ACTIONS = (RestoreDns, ThrottleDwfm, RestartDwfm, RelaxThrottles, DisableNlbFailover, RestartPoller)


def applies(item: Fault | OperatorAction, cloud: Cloud) -> bool:
    """Whether this cloud has what an operator action or a fault acts on."""
    if isinstance(item, OPERATOR_ACTIONS):
        return _operator_step(item, cloud, 0) is not None
    try:
        _fault_actions(item, cloud)
    except (KeyError, IndexError, ValueError):
        return False
    return True


def start_now(item: Fault | OperatorAction, cloud: Cloud, by: str) -> Callable[[], Coroutine[Any, Any, None]] | None:
    """An operator action or a fault taken now by someone at the run's controls (the operator's console), exactly
    as a scripted one is (the same methods, the same events, each saying `by` whom): an action, or a fault's start,
    at once. A fault with a duration returns its end, to be awaited (it sleeps until then). A fault's `at` is
    ignored (it is now)."""
    now = cloud.events.now()
    if isinstance(item, OPERATOR_ACTIONS):
        steps = [step] if (step := _operator_step(item, cloud, 0)) is not None else []
    else:
        fault = item.model_copy(update={"at": now})
        window = (now, None if fault.duration is None else now + fault.duration)
        steps = [replace(s, fault=fault.kind, window=window) for s in _fault_steps(fault, cloud, 0)]
    if not steps:
        return None
    with cloud.events.acting(by):
        _take(steps[0], cloud)
    if len(steps) == 1:
        return None
    end = steps[1]

    async def ending() -> None:
        await runtime.sleep(max(0.0, end.at - cloud.events.now()))
        with cloud.events.acting(by):
            _take(end, cloud)

    return ending


def end_now(fault: KillNode, cloud: Cloud, by: str) -> None:
    """A kill_node fault with no end, ended now from the console: the node is revived, as its window's end does."""
    _, end = _fault_actions(fault, cloud)
    with cloud.events.acting(by):
        _take(_Step(cloud.events.now(), 0, EventKind.FAULT_END, end[0], end[1], fault.kind, (fault.at, None)), cloud)
