"""The `cascadesim` command.

Each command imports what it uses when it runs, so that `cascadesim --help` (and a command that needs little, such
as `validate`) starts without loading the cloud, Plotly or Locust's machinery.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scenarios.cli import reading
from scenarios.cli.operator import ConsoleOption, ConsolePortOption, OpenOption, console_command, operator_console_for
from scenarios.guest.exec_command import exec_command
from scenarios.run.arguments import (
    OutOption,
    PolicyOption,
    ScenarioPath,
    SeedOption,
    VirtualOption,
    WorkersOption,
    console,
    errors,
    first_leaf,
    live_or_exit,
    load_or_exit,
    with_overrides,
)
from services.errors import CascadesimError
from services.net.addresses import HOST, router_host

if TYPE_CHECKING:
    from scenarios.config.schema import Scenario
    from scenarios.run.execute import RunResult


ROUTER_1 = router_host(1)
app = typer.Typer(
    help="Replay the 2025 us-east-1 DNS race and its cascade on this machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(reading.validate)


@app.command()
def serve(
    scenario: ScenarioPath,
    duration: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds (default: the scenario's duration).", min=0),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to write events.jsonl (default: runs/<name>-<stamp>/).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also print routine events.")] = False,
    users: Annotated[
        int | None,
        typer.Option(help="Constant Locust users instead of the scenario's load section (0: no load).", min=0),
    ] = None,
    locust_processes: Annotated[
        int, typer.Option(help="Locust in one process forking this many workers (its --processes).", min=1)
    ] = 1,
    locust_workers: Annotated[
        int, typer.Option(help="Locust's distributed mode: a master plus this many worker processes.", min=0)
    ] = 0,
    operator_console: ConsoleOption = False,
    console_port: ConsolePortOption = 0,
    open_page: OpenOption = False,
) -> None:
    """Run the live cloud on loopback, with Locust playing the scenario's load section, until done or Ctrl-C."""
    from scenarios.config.load_plan import load_plan
    from scenarios.run.execute import stamp_now, write_scenario
    from scenarios.run.serve import ServeLoad, serve_live
    from services.errors import ListenError

    written = load_or_exit(scenario)
    loaded = live_or_exit(written, scenario)
    run_dir = out or Path("runs") / f"{loaded.name}-serve-{stamp_now()}"
    if operator_console:  # a run like `run`'s, sampled and reported, with the page beside it
        if users == 0:
            written = written.model_copy(update={"load": None})
        elif users is not None:
            written = with_overrides(written, scenario, None, None, users)
        loaded = live_or_exit(written, scenario)
        if duration is not None:
            loaded = loaded.model_copy(update={"duration": duration})
        _run_with_console(written, loaded, run_dir, console_port, open_page, locust_workers)
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    write_scenario(loaded, run_dir / "scenario.toml")  # resolved
    plan_file = run_dir / "load-plan.json"  # what Locust reads, also when started by hand
    plan_file.write_text(load_plan(loaded).to_json(), encoding="utf-8")
    with (run_dir / "events.jsonl").open("w", encoding="utf-8") as stream:
        wanted = users != 0 and (users is not None or loaded.load is not None)
        load = ServeLoad(plan_file, run_dir, users, locust_processes, locust_workers) if wanted else None
        try:
            interrupted = serve_live(loaded, duration, stream, console, verbose=verbose, load=load)
        except* ListenError as group:
            errors.print(
                f"error: {first_leaf(group)} (is another cascadesim running? pick other ports in the scenario)",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None
    console.print(f"events written to {run_dir / 'events.jsonl'}", highlight=False)
    if interrupted:
        raise typer.Exit(130)


@app.command()
def run(
    scenario: ScenarioPath,
    policy: PolicyOption = None,
    virtual: VirtualOption = False,
    seed: SeedOption = None,
    out: OutOption = Path("runs"),
    locust_workers: WorkersOption = 0,
    users: Annotated[
        int | None, typer.Option(help="A constant count of users of the scenario's mix, instead of its stages.", min=1)
    ] = None,
    operator_console: ConsoleOption = False,
    console_port: ConsolePortOption = 0,
    open_page: OpenOption = False,
) -> None:
    """Run a scenario (live with Locust, or --virtual) into a run directory with its time series and KPIs."""
    from scenarios.run.execute import run_directory, stamp_now

    written = with_overrides(load_or_exit(scenario), scenario, policy, seed, users)
    if operator_console and virtual:
        errors.print("error: --console is for live runs (the page acts on the cloud as it runs)", highlight=False)
        raise typer.Exit(2)
    loaded = written if virtual else live_or_exit(written, scenario)
    directory = run_directory(out, loaded, stamp_now())
    if operator_console:
        _run_with_console(written, loaded, directory, console_port, open_page, locust_workers)
        return
    _run_into(loaded, directory, virtual, locust_workers)


def _run_into(loaded: Scenario, directory: Path, virtual: bool, locust_workers: int, **more: Any) -> None:
    from scenarios.run.console import kpi_table, verdict_line
    from scenarios.run.execute import RunOptions, prepare_run_directory
    from scenarios.sweep.compare import execute_with_progress

    prepare_run_directory(loaded, directory)  # an unwritable --out: one line, before anything starts
    options = RunOptions(virtual=virtual, locust_workers=locust_workers)
    result = execute_with_progress(loaded, directory, options, **more)
    console.print(kpi_table([(Path(loaded.policy).stem, result.kpis)], title=f"{loaded.name}: KPIs"))
    said = verdict_line(result.kpis)
    if said is not None:
        console.print(said, highlight=False, markup=False)
    report = directory / "report.html"
    console.print(f"run directory: {directory} " + (f"(report: {report})" if report.exists() else "(no report)"))
    if (directory / "response.toml").is_file():
        console.print(f"your response: {directory / 'response.toml'} (cascadesim run it --virtual)", highlight=False)
    _finish([result])


def _run_with_console(
    written: Scenario, loaded: Scenario, directory: Path, port: int, open_page: bool, locust_workers: int
) -> None:
    """A live run with the operator's page beside it; the scenario's own operator actions are left out."""
    playing, page = operator_console_for(written, loaded, port, open_page)
    _run_into(playing, directory, False, locust_workers, page=page)


@app.command()
def compare(
    scenario: Annotated[
        Path,
        typer.Argument(help="A scenario file (with -p), or a what-if file of variants (scenarios/what-if/*.toml)."),
    ],
    policy: Annotated[
        list[str] | None, typer.Option("--policy", "-p", help="A policy set to compare (repeat it).")
    ] = None,
    virtual: VirtualOption = False,
    seed: SeedOption = None,
    out: OutOption = Path("runs"),
    locust_workers: WorkersOption = 0,
    jobs: Annotated[
        int,
        typer.Option(min=1, help="Virtual runs: how many run at once, one process each (default: cores)."),
    ] = os.cpu_count() or 1,
    scheduler: Annotated[
        str | None,
        typer.Option(help=f"Virtual runs on a Dask cluster, e.g. tcp://{HOST}:8786 (extra: cluster)."),
    ] = None,
    into: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="The comparison directory itself; run again into it, virtual runs done there are kept."
        ),
    ] = None,
) -> None:
    """Run a scenario once per policy set, or a what-if file once per variant, then compare them side by side."""
    from scenarios.config.problems import ScenarioError, read_toml
    from scenarios.config.what_if import is_what_if_file, load_what_if
    from scenarios.run.execute import stamp_now
    from scenarios.sweep.compare import compare_policies, compare_what_if

    try:
        what_if = load_what_if(scenario, seed) if is_what_if_file(read_toml(scenario)) else None
    except ScenarioError as exc:
        errors.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if what_if is not None:
        if policy:
            errors.print(
                f"error: {scenario}: -p compares policy sets of a scenario file; a what-if file's variants set "
                "`policy` themselves",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
            raise typer.Exit(2)
        results = compare_what_if(
            what_if,
            virtual,
            into or out / f"{what_if.base.name}-{what_if.path.stem}-{stamp_now()}",
            locust_workers,
            jobs,
            scheduler,
        )
        _finish(results)
        return
    if not policy:
        errors.print(
            f"error: {scenario}: give the policy sets to compare (-p NAME, repeated), or a what-if file",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    results = compare_policies(
        load_or_exit(scenario), scenario, policy, seed, virtual, into, out, locust_workers, jobs, scheduler
    )
    _finish(results)


@app.command()
def sweep(
    scenario: ScenarioPath,
    vary: Annotated[
        list[str] | None,
        typer.Option("--vary", help="An axis, PATH=START:STOP[:STEP] or PATH=A,B,C, e.g. faults[0].duration=2:12:1."),
    ] = None,
    policy: Annotated[
        list[str] | None,
        typer.Option("--policy", "-p", help="A policy set to sweep (repeat it; default: the scenario's)."),
    ] = None,
    repeats: Annotated[
        int | None, typer.Option(min=1, help="Runs per grid point, each with its own seed (default: 1).")
    ] = None,
    find_threshold: Annotated[
        str | None, typer.Option(help="Bisect PATH=LOW:HIGH[:RESOLUTION] for where each policy set tips.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help=f"Run the cells on a Dask cluster, e.g. tcp://{HOST}:8786 (extra: cluster).")
    ] = None,
    out: OutOption = Path("runs"),
    into: Annotated[
        Path | None,
        typer.Option("--dir", help="The sweep directory itself; run again into it, the cells done there are skipped."),
    ] = None,
    jobs: Annotated[
        int, typer.Option(min=1, help="How many cells run at once, one process each (default: cores).")
    ] = os.cpu_count() or 1,
) -> None:
    """Run a scenario (or a sweep file) over a grid of values in virtual time: one run per cell, their KPIs, a map."""
    from scenarios.config.problems import ScenarioError
    from scenarios.sweep import run_command

    try:
        _, results = run_command(
            scenario, vary or [], list(policy or []), repeats, find_threshold, out, into, jobs, scheduler, console
        )
    except ScenarioError as exc:
        errors.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if any(r.error in ("interrupted", "not started") for r in results):
        console.print("interrupted: the cells that finished are in the sweep directory", style="yellow")
        raise typer.Exit(130)


def _finish(results: list[RunResult]) -> None:
    if any(r.interrupted for r in results):
        console.print("interrupted: what was gathered is in the run directory", style="yellow")
        raise typer.Exit(130)
    if problems := [p for r in results for p in r.problems]:
        for problem in problems:
            errors.print(f"error: {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1)


for command in (reading.report, reading.scenarios, reading.schema, reading.policies):
    app.command()(command)


@app.command()
def dynamodb(
    host: Annotated[str, typer.Option(help="Loopback address to listen on.")] = ROUTER_1,
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Capacity model: concurrent requests.", min=1)] = 64,
    queue: Annotated[int, typer.Option(help="Capacity model: requests that may wait.", min=0)] = 1024,
    service_time: Annotated[
        float, typer.Option(help="Capacity model: mean seconds per request (exponential).", min=0)
    ] = 0.0,
) -> None:
    """Run one standalone mock DynamoDB router, for boto3 or any SDK (endpoint_url=http://HOST:PORT), until Ctrl-C."""
    import signal

    import anyio

    from services import runtime
    from services.dynamodb import Router
    from services.errors import ListenError
    from services.net.network import LiveNetwork, require_loopback
    from services.node.capacity import CapacitySpec, ServiceTime

    try:
        require_loopback(host)
    except ValueError as exc:
        errors.print(f"error: --host {host}: {exc}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    service = ServiceTime("exponential", service_time) if service_time > 0 else ServiceTime("constant", 0.0)
    router = Router("router-1", spec=CapacitySpec(workers, service, queue))

    async def main() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with anyio.create_task_group() as nursery:
                await nursery.start(LiveNetwork().serve_http, router.routes, (host, port))
                console.print(f"mock DynamoDB listening on http://{host}:{port} (Ctrl-C stops it)", highlight=False)
                async for _ in signals:
                    nursery.cancel_scope.cancel()
                    return

    try:
        runtime.run_live(main)
    except* ListenError as group:
        errors.print(f"error: {first_leaf(group)}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1) from None


app.command("exec")(exec_command)


app.command("console")(console_command)


def main() -> None:
    try:
        app()
    except CascadesimError as exc:  # one that is the user's to fix (an unwritable --out): one line, exit 1
        if not getattr(exc, "one_line", False):
            raise
        errors.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise SystemExit(1) from None
