"""One run from start to finish: the cloud, its clients, the sampler, and the run directory it leaves behind.

    runs/<scenario>-<policy>-<stamp>/
        scenario.toml    the resolved input (after --policy and --seed)
        meta.json        what ran, how, when, for how long, with which versions, and whether it was interrupted
        events.jsonl     faults, plan generations, DNS changes, operator actions, written as they happen
        timeseries.csv   one row per simulated second (scenarios/run/sampler.py)
        load-plan.json   what Locust's processes were given (loadgen/plan.py), in live runs with load
        locust/          Locust's CSV and HTML and the users' outcomes, in live runs with load
        outcomes.csv     the clients' per-second outcomes (Locust's workers merged, or the virtual users')
        kpis.json        the KPIs (reports/kpis.py) with their definitions
        report.html      the report (reports/render.py), re-rendered any time by `cascadesim report`

SIGINT, SIGTERM or SIGHUP (the terminal closed) stops the run where it is; everything gathered so far is still
written, marked as interrupted.
With a guest (the user's program under `cascadesim exec`, or a test under the pytest plugin), the run ends when the
guest does (scenarios/run/visitor.py).
"""

from __future__ import annotations

import contextlib
import json
import platform
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sniffio
import tomli_w

from loadgen.behaviour import SecondOutcomes
from loadgen.load_gauge import LoadGauge
from loadgen.virtual import VirtualUsers
from reports.guest_calls import DEFINITIONS as PROGRAM_DEFINITIONS
from reports.guest_calls import program_kpis
from reports.kpis import DEFINITIONS, NO_CONSTANTS, compute
from reports.render import render_run
from reports.verdict import Horizon
from scenarios.config.horizon import horizon_of
from scenarios.config.load_plan import load_plan
from scenarios.config.schema import Scenario
from scenarios.run.locust_run import LocustPlan, run_locust
from scenarios.run.runner import run_scenario
from scenarios.run.sampler import (
    Row,
    Sampler,
    read_harness,
    read_lookups,
    with_clients,
    with_harness,
    with_lookups,
    write_csv,
)
from scenarios.run.verdict_watch import RunStop, VerdictWatch, cap_of, held_load
from scenarios.run.visitor import Guest, ProgramRun
from services import runtime
from services.errors import CascadesimError, ListenError
from services.event_kinds import CONTROL_PLANE_STEPS, EventKind
from services.events import EventLog, JsonlSink, Sink
from services.net.network import LiveNetwork, Network
from services.net.virtual_network import VirtualNetwork
from services.runtime.kernel import run_in_virtual_time
from services.topology.cloud import Cloud

if TYPE_CHECKING:  # the console's server (starlette) is loaded by the command that asks for it
    from scenarios.run.operator_console import OperatorConsole


@dataclass(frozen=True)
class RunOptions:
    virtual: bool = False
    locust_workers: int = 0
    locust_processes: int = 1
    latency: float = 0.0005  # virtual network's one-way latency, seconds


@dataclass
class RunResult:
    directory: Path
    kpis: dict[str, Any]
    interrupted: bool = False
    problems: list[str] = field(default_factory=list)
    program: ProgramRun | None = None  # what became of the guest: the user's program, or a test


SPILL = "rows.jsonl"  # a live run's time-series rows as they are taken (scenarios/run/sampler.py); gone once written
INCOMPLETE = "INCOMPLETE"  # in a run directory whose files were not all written; removed once they are


class RunDirectoryError(CascadesimError):
    """The run directory cannot be made or written (a read-only or full filesystem): nothing was started."""

    one_line = True  # the command line shows it as one line and exits 1 (scenarios/cli/commands.py)


def run_directory(root: Path, scenario: Scenario, stamp: str) -> Path:
    policy = Path(scenario.policy).stem
    return root / f"{scenario.name}-{policy}-{stamp}"


def write_scenario(scenario: Scenario, path: Path) -> None:
    """The resolved scenario as TOML (it loads back to the same scenario)."""
    path.write_text(tomli_w.dumps(scenario.model_dump(mode="json", by_alias=True, exclude_none=True)), encoding="utf-8")


def stamp_now() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")  # the wall-clock stamp names and dates a run only


def execute(
    scenario: Scenario,
    directory: Path,
    options: RunOptions = RunOptions(),
    *,
    on_second: Callable[[Row], None] | None = None,
    sinks: tuple[Sink, ...] = (),
    guest: Guest | None = None,
    signals: bool = True,
    console: OperatorConsole | None = None,
) -> RunResult:
    """Run `scenario` into `directory` (created), live or virtual; returns its KPIs. With a `guest` (live only), the
    user's program or test visits the cloud once it is ready, and the run ends when it leaves. Without `signals`
    (a run in a thread other than the main one), SIGINT and SIGTERM are left to the caller. With a `console` (live
    only), the operator's page is served beside the run, and what was done at it is left as response.toml."""
    prepare_run_directory(scenario, directory)
    if console is not None:
        console.directory = directory
    started_at, wall = datetime.now(UTC).isoformat(timespec="seconds"), time.monotonic()
    if guest is not None and options.virtual:
        raise ValueError("a guest (a program or a test) visits live runs only: it runs on the wall clock")
    state = _RunState(program=None if guest is None else guest.run, horizon=horizon_of(scenario))
    limit = scenario.duration
    if options.virtual:  # goes on past its written end until the verdict is decided, up to the cap
        limit, state.stop = cap_of(scenario, state.horizon), RunStop()
    if guest is not None:
        (directory / "program").mkdir(exist_ok=True)
    stream = (directory / "events.jsonl").open("w", encoding="utf-8")
    try:

        async def main() -> None:
            events = EventLog(runtime.current_time, keep=lambda kind: kind not in CONTROL_PLANE_STEPS)
            events.subscribe(JsonlSink(stream, on_error=lambda exc: _cannot_write(exc, directory, events, state)))
            for sink in (*sinks, *((console.on_event,) if console is not None else ())):
                events.subscribe(sink)
            state.events = events
            if not options.virtual:
                state.event_loop = sniffio.current_async_library()
            network: Network = VirtualNetwork(options.latency) if options.virtual else LiveNetwork()
            try:
                async with runtime.create_task_group() as nursery:
                    state.cancel = nursery.cancel_scope.cancel
                    with _signals(signals) as received:
                        if received is not None:
                            nursery.start_soon(_watch_signals, received, nursery.cancel_scope, events, state)

                        async def observe(cloud: Cloud) -> None:
                            gauge = None if options.virtual else LoadGauge()  # a virtual run has no machine limit
                            listener = on_second
                            if console is not None:
                                listener = _also(console.on_row, on_second)
                                nursery.start_soon(console.serve, cloud)
                            if state.stop is not None:
                                listener = _watching(scenario, state, events, on_second)
                            state.sampler = Sampler(
                                cloud,
                                events,
                                listener=listener,
                                outside=guest is not None,
                                gauge=gauge,
                                spill=None if options.virtual else directory / SPILL,
                            )
                            await state.sampler.run()

                        async def clients(cloud: Cloud) -> None:
                            async with runtime.create_task_group() as both:
                                loaded = held_load(scenario, limit)  # the last stage lasts as long as the run
                                both.start_soon(_clients, cloud, loaded, directory, options, events, state)
                                if guest is not None:
                                    await _visit(guest, cloud, directory / "program", events)
                                    nursery.cancel_scope.cancel()  # the run ends when the guest leaves

                        await run_scenario(
                            scenario, network, events, clients=clients, observe=observe, stop=state.stop, duration=limit
                        )
                        nursery.cancel_scope.cancel()
            except Exception as exc:  # a node or the harness failed: keep what was gathered, and say what happened
                state.problems.append(_failure(exc))
                events.emit(EventKind.RUN_FAILED, "runner", state.problems[-1])  # on the run's clock, still running

        try:
            if options.virtual:
                run_in_virtual_time(main)
            else:
                runtime.run_live(main)
        except Exception as exc:  # failed before the run's clock started, or while it stopped
            state.problems.append(_failure(exc))
        except KeyboardInterrupt:  # Ctrl-C before the run listens for it (as it starts): an interrupted run too
            state.interrupted = True
    finally:
        with contextlib.suppress(OSError):  # what a full disk left in the buffer is lost; the sink said so
            stream.close()
    try:
        if console is not None:  # first: what the operator did is worth more than the report
            console.write(directory)
        result = _write(scenario, directory, options, state, started_at, time.monotonic() - wall)
    except OSError as exc:  # the disk filled up, or the directory went away: what was written stays, marked
        if state.cancel_reason is None:  # said once: the event log may have said it already
            state.problems.append(f"could not write the run's files in {directory}: {exc.strerror or exc}; "
                                  f"what was written is there, marked by {INCOMPLETE}")  # fmt: skip
        return RunResult(directory, {}, state.interrupted, state.problems, state.program)
    (directory / INCOMPLETE).unlink(missing_ok=True)
    return result


def prepare_run_directory(scenario: Scenario, directory: Path) -> None:
    """The run directory, marked incomplete until its files are written, with the scenario as run; a directory
    that cannot be made or written is RunDirectoryError, before anything starts."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / INCOMPLETE).write_text(
            "This run did not write all its files (it is running, or it was stopped before it could).\n",
            encoding="utf-8",
        )
        write_scenario(scenario, directory / "scenario.toml")
    except OSError as exc:
        raise RunDirectoryError(f"cannot write the run directory {directory}: {exc.strerror or exc}") from None


def _cannot_write(exc: OSError, directory: Path, events: EventLog, state: _RunState) -> None:
    """The event log could not be written (a full disk): stop the run, keep what was gathered, say so."""
    state.cancel_reason = exc
    state.problems.append(
        f"could not write {directory / 'events.jsonl'} ({exc.strerror or exc}): the run stopped at "
        f"{events.now():.0f} s; what it gathered is in {directory}, marked by {INCOMPLETE} where it is not whole"
    )
    if state.cancel is not None:
        state.cancel()


def _watching(
    scenario: Scenario, state: _RunState, events: EventLog, on_second: Callable[[Row], None] | None
) -> Callable[[Row], None]:
    """The sampler's listener: the caller's, then the verdict's watcher."""
    assert state.stop is not None
    watch = VerdictWatch(
        scenario,
        state.horizon,
        lambda: state.sampler.rows if state.sampler is not None else [],
        lambda: state.users.outcomes if state.users is not None else None,
        events,
        state.stop,
    )

    def listener(row: Row) -> None:
        if on_second is not None:
            on_second(row)
        watch(row)

    return listener


def _also(first: Callable[[Row], None], then: Callable[[Row], None] | None) -> Callable[[Row], None]:
    def both(row: Row) -> None:
        first(row)
        if then is not None:
            then(row)

    return both


def _failure(exc: Exception) -> str:
    leaf: BaseException = exc
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    hint = " (is another cascadesim running? pick other ports in the scenario)" if isinstance(leaf, ListenError) else ""
    return f"the run failed: {type(leaf).__name__}: {leaf}{hint}"


@dataclass
class _RunState:
    events: EventLog | None = None
    sampler: Sampler | None = None
    users: VirtualUsers | None = None
    program: ProgramRun | None = None
    interrupted: bool = False
    problems: list[str] = field(default_factory=list)
    cancel: Callable[[], None] | None = None  # stops the run (the disk is full)
    cancel_reason: OSError | None = None  # why it was stopped so
    event_loop: str | None = None  # a live run's: asyncio or trio
    stop: RunStop | None = None  # a virtual run's: ended once its verdict is decided
    horizon: Horizon = NO_CONSTANTS  # what its verdict is judged over (scenarios/config/horizon.py)


async def _watch_signals(signals: Any, scope: runtime.CancelScope, events: EventLog, state: _RunState) -> None:
    async for signum in signals:
        state.interrupted = True
        events.emit(
            EventKind.RUN_INTERRUPTED, "runner", f"{signal.Signals(signum).name}: stopping, keeping what was gathered"
        )
        scope.cancel()
        return


async def _clients(
    cloud: Cloud,
    scenario: Scenario,
    directory: Path,
    options: RunOptions,
    events: EventLog,
    state: _RunState,
) -> None:
    """With a [load] section, the clients: virtual users, or Locust in its own processes."""
    if scenario.load is None:
        return
    async with runtime.create_task_group() as nursery:
        run_start = runtime.current_time() - events.now()
        if options.virtual:
            state.users = VirtualUsers.for_plan(load_plan(scenario), cloud)
            nursery.start_soon(state.users.run, run_start)
            return
        plan_file = directory / "load-plan.json"
        plan_file.write_text(load_plan(scenario).to_json(), encoding="utf-8")
        plan = LocustPlan(
            plan_file,
            directory,
            until=scenario.duration,
            processes=options.locust_processes,
            workers=options.locust_workers,
        )

        async def locust() -> None:
            status = await run_locust(plan, run_start)
            if status != 0 and events.now() < scenario.duration - 1:
                problem = f"Locust exited with status {status} at {events.now():.1f} s (see locust/locust.log)"
                state.problems.append(problem)
                events.emit(EventKind.LOCUST_EXITED, "locust", problem, status=status)

        nursery.start_soon(locust)
        how = f"a master and {options.locust_workers} workers" if options.locust_workers else "one process"
        events.emit(EventKind.LOAD_STARTED, "locust", f"Locust started ({how}); its reports go to locust/")


async def _visit(guest: Guest, cloud: Cloud, directory: Path, events: EventLog) -> None:
    """The guest's visit, from the cloud's readiness to its end (or the run's end, which stops it). The nodes close
    an outside caller's connection after each reply meanwhile (services/net/outside.py)."""
    for counters in cloud.outside_calls().values():
        for calls in counters:
            calls.close_connections = True
    await guest.visit(cloud, directory, events)


def _signals(wanted: bool) -> contextlib.AbstractContextManager[Any]:
    if wanted:
        return runtime.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    return contextlib.nullcontext()


def _outcomes(directory: Path, state: _RunState) -> SecondOutcomes | None:
    if state.users is not None:
        return state.users.outcomes
    files = sorted((directory / "locust").glob("outcomes-*.csv"))
    return SecondOutcomes.from_csv(*(f.read_text() for f in files)) if files else None


def _write(
    scenario: Scenario, directory: Path, options: RunOptions, state: _RunState, started_at: str, wall: float
) -> RunResult:
    events = state.events.events if state.events is not None else []
    outcomes = _outcomes(directory, state)
    if outcomes is not None:
        (directory / "outcomes.csv").write_text(outcomes.csv(), encoding="utf-8")
    rows = with_clients(state.sampler.rows if state.sampler is not None else [], outcomes)
    if not options.virtual and state.sampler is not None and state.sampler.gauge is not None:
        harness = sorted((directory / "locust").glob("harness-*.csv"))
        rows = with_harness(rows, read_harness(*(f.read_text(encoding="utf-8") for f in harness)))
    if state.program is not None:
        lookups = sorted((directory / "program").glob("lookups-*.csv"))
        rows = with_lookups(rows, read_lookups(*(f.read_text(encoding="utf-8") for f in lookups)))
    write_csv(rows, directory / "timeseries.csv")
    droplets = scenario.ec2.droplets if scenario.ec2 is not None else None
    kpis = compute(rows, events, droplets=droplets, horizon=state.horizon)
    definitions = DEFINITIONS
    if state.program is not None:
        kpis |= program_kpis(rows)
        definitions = DEFINITIONS | PROGRAM_DEFINITIONS
    simulated = len(rows)
    del rows  # the report reads timeseries.csv back: do not hold two copies of a long run
    if state.sampler is not None:
        state.sampler.forget()
    document = {"kpis": kpis, "definitions": definitions}
    (directory / "kpis.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    meta = {
        "scenario": scenario.name,
        "description": scenario.description,
        "policy": scenario.policy,
        "mode": "virtual" if options.virtual else "live",
        "seed": scenario.seed,
        "duration": scenario.duration,
        "simulated_seconds": simulated,
        "verdict_cap": cap_of(scenario, state.horizon) if options.virtual else None,
        "interrupted": state.interrupted,
        "problems": state.problems,
        "load": None if scenario.load is None else ("virtual users" if options.virtual else "locust"),
        "locust_workers": options.locust_workers,
        "program": None
        if state.program is None
        else {"command": list(state.program.command), "status": state.program.status},
        "versions": _versions(),
    }
    if not options.virtual:  # wall-clock facts would make two virtual runs of one seed differ
        meta |= {"started_at": started_at, "wall_seconds": round(wall, 3), "event_loop": state.event_loop}
    (directory / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    render_run(directory)
    return RunResult(directory, kpis, state.interrupted, state.problems, state.program)


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("cascadesim", "anyio", "trio", "hypercorn", "httpx", "locust", "dnspython"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    versions["platform"] = sys.platform
    return versions
