"""`cascadesim serve`: the live cloud on loopback, with Locust playing the load, until its time is up or Ctrl-C.

Events go to the terminal as they happen and to events.jsonl; unlike `run`, nothing is sampled or reported.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import anyio
from rich.console import Console

from scenarios.config.schema import Scenario
from scenarios.run.console import EventPrinter, listeners_table, try_it
from scenarios.run.locust_run import LocustPlan, run_locust
from scenarios.run.runner import run_scenario
from services import runtime
from services.event_kinds import EventKind
from services.events import EventLog, JsonlSink
from services.net.network import LiveNetwork
from services.topology.cloud import Cloud


@dataclass(frozen=True)
class ServeLoad:
    """What Locust plays during `serve`."""

    load_plan: Path  # the run's LoadPlan as JSON
    run_dir: Path
    users: int | None
    processes: int
    workers: int


def serve_live(
    scenario: Scenario,
    duration: float | None,
    stream: IO[str],
    console: Console,
    *,
    verbose: bool = False,
    load: ServeLoad | None = None,
) -> bool:
    """Run until the duration ends or SIGINT/SIGTERM arrives; returns whether a signal stopped it.

    Raises ListenError (in an exception group) when an address is taken.
    """
    stopped_by: list[str] = []  # the signal that stopped the run, if one did

    async def main() -> None:
        events = EventLog(anyio.current_time)
        events.subscribe(JsonlSink(stream))
        events.subscribe(EventPrinter(console, verbose=verbose))

        def show(cloud: Cloud) -> None:
            console.print(listeners_table(cloud.listeners()))
            console.print(try_it(cloud.listeners()), highlight=False, soft_wrap=True)
            if load is not None:
                plan = LocustPlan(
                    load.load_plan.resolve(),
                    load.run_dir.resolve(),
                    until=scenario.duration if duration is None else duration,
                    users=load.users,
                    processes=load.processes,
                    workers=load.workers,
                )
                nursery.start_soon(run_locust, plan, anyio.current_time() - events.now())
                how = f"master + {load.workers} workers" if load.workers else f"{load.processes} process(es)"
                users = "the scenario's stages" if load.users is None else f"{load.users} users"
                events.emit(
                    EventKind.LOAD_STARTED, "locust", f"Locust ({how}): {users}, reports in {load.run_dir / 'locust'}"
                )

        async with anyio.create_task_group() as nursery:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

                async def watch_signals() -> None:
                    async for signum in signals:
                        stopped_by.append(signal.Signals(signum).name)
                        nursery.cancel_scope.cancel()
                        return

                nursery.start_soon(watch_signals)
                await run_scenario(scenario, LiveNetwork(), events, duration=duration, on_ready=show)
                nursery.cancel_scope.cancel()
        if stopped_by:  # said once everything has stopped, so it is the log's last word
            events.emit(
                EventKind.RUN_INTERRUPTED, "runner", f"{stopped_by[0]}: stopped, every node and Locust process ended"
            )

    runtime.run_live(main)
    return bool(stopped_by)
