"""Runs a scenario: the Cloud plus its fault timeline, for a bounded time, on a live or virtual Network."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from scenarios.config.cloud_settings import cloud_settings
from scenarios.config.schema import Scenario
from scenarios.run.faults import play
from scenarios.run.verdict_watch import RunStop
from services import runtime
from services.dns.planner import HealthProbe
from services.event_kinds import EventKind
from services.events import EventLog
from services.net.network import LiveNetwork, Network
from services.topology.cloud import Cloud

SETTLE = 1e-6


async def run_scenario(
    scenario: Scenario,
    network: Network,
    events: EventLog,
    *,
    duration: float | None = None,
    probe: HealthProbe | None = None,
    on_ready: Callable[[Cloud], None] | None = None,
    clients: Callable[[Cloud], Coroutine[Any, Any, None]] | None = None,
    observe: Callable[[Cloud], Coroutine[Any, Any, None]] | None = None,
    stop: RunStop | None = None,
) -> Cloud:
    """Start the cloud, play the faults, and stop everything after `duration` (default: the scenario's).

    `observe` runs from the start (before the nodes are up); `on_ready` is called once every node listens and
    DNS has its first plan; `clients` then runs alongside the faults until it returns or the run ends. A `stop`
    requested from inside the run (scenarios/run/verdict_watch.py) ends it at that second instead, the same way.
    """
    cloud = Cloud(cloud_settings(scenario, live=isinstance(network, LiveNetwork)), network, events, probe=probe)
    limit = scenario.duration if duration is None else duration
    events.emit(EventKind.RUN_STARTED, "runner", f"scenario {scenario.name} started", scenario=scenario.name)
    # Everything stops a microsecond after the last second ends, so that the sampler takes that second's row on its
    # own schedule, before any task unwinds: anyio unwinds tasks in an order it takes from a set (memory addresses),
    # and a row taken while they do (a node's work in flight, say) would differ from run to run.
    with runtime.move_on_after(max(0.0, limit - events.now()) + SETTLE) as scope:
        async with runtime.create_task_group() as tg:
            if stop is not None:
                tg.start_soon(_stop_when_asked, stop, events, scope)
            if observe is not None:
                tg.start_soon(observe, cloud)
            await tg.start(cloud.run)
            if on_ready is not None:
                on_ready(cloud)
            tg.start_soon(play, scenario, cloud)
            if clients is not None:
                tg.start_soon(clients, cloud)
    events.emit(EventKind.RUN_STOPPED, "runner", f"scenario {scenario.name} stopped after {events.now():.1f} s")
    return cloud


async def _stop_when_asked(stop: RunStop, events: EventLog, scope: runtime.CancelScope) -> None:
    await stop.event().wait()
    assert stop.at is not None
    await runtime.sleep(max(0.0, stop.at - events.now()) + SETTLE)
    scope.cancel()
