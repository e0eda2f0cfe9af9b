"""A scenario's clients, translated into the plain load plan that both load engines take (loadgen/plan.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from loadgen.behaviour import Stage, split
from loadgen.plan import LoadPlan, UserKind
from scenarios.config.policies import load_policy_set, policy_path
from scenarios.config.schema import LoadConfig, LoadSpike, Scenario
from services.net.addresses import DNS_HOST
from services.topology.cloud import declared_name


def load_plan(scenario: Scenario) -> LoadPlan:
    """The scenario's [load] (if any) against the services it has, under its policy set's client policy."""
    load = scenario.load
    ports = {"dynamodb": scenario.dynamodb.port}
    if scenario.ec2 is not None:
        ports["ec2"] = scenario.ec2.port
    if scenario.lambda_ is not None:
        ports["lambda"] = scenario.lambda_.port
    timeout = None if load is None else load.timeout
    attempt_timeout = None if load is None else load.attempt_timeout
    mix = {kind: 1 for kind in ports} if load is None else {k: w for k, w in load.mix.items() if w > 0}
    return LoadPlan(
        seed=scenario.seed,
        resolver=(DNS_HOST, scenario.dns.resolver_port),
        duration=scenario.duration,
        kinds={name: UserKind(port, timeout, attempt_timeout) for name, port in ports.items()}
        | {
            d.name: UserKind(d.port, timeout, attempt_timeout, declared_name(d.name), tuple(d.operations))
            for d in scenario.services
        },
        mix={k: w for k, w in mix.items() if k in ports or k in {d.name for d in scenario.services}},
        stages=() if load is None else stages_of(load, spikes_of(scenario)),
        spawn_rate=10.0 if load is None else load.spawn_rate,
        client=load_policy_set(policy_path(scenario.policy)).client.settings(),
    )


def stages_of(load: LoadConfig, spikes: Sequence[tuple[float, float, float]] = ()) -> tuple[Stage, ...]:
    """A scenario's [load] section as stages of users per kind, with its load spikes ((start, end, factor),
    multiplying the users while they last) cut in as stages of their own."""
    last = load.stages[-1].until
    bounds = sorted({s.until for s in load.stages} | {t for a, b, _ in spikes for t in (a, b) if 0 < t < last})
    stages = []
    for until in bounds:
        base = next(s for s in load.stages if s.until >= until)  # in force just before `until`
        factor = math.prod(f for a, b, f in spikes if a < until <= b)
        stages.append(Stage(until, split(round(base.users * factor), load.mix)))
    return tuple(stages)


def spikes_of(scenario: Scenario) -> tuple[tuple[float, float, float], ...]:
    """The scenario's load_spike faults as (start, end, factor)."""
    return tuple((f.at, f.at + f.duration, f.factor) for f in scenario.faults if isinstance(f, LoadSpike))
