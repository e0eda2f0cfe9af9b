"""`cascadesim exec`: a scenario's live cloud with the user's own program run against it (scenarios/guest/program.py).

The cloud's events are printed to stderr as they happen, between the program's own output; the run directory and
report are written as for `run`, with the program's calls as a series of their own. The exit status is the
program's.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from scenarios.run.arguments import (
    OutOption,
    PolicyOption,
    ScenarioPath,
    errors,
    live_or_exit,
    load_or_exit,
    with_overrides,
)

if TYPE_CHECKING:
    from scenarios.config.schema import Scenario
    from scenarios.guest.program import Program


def exec_command(
    scenario: ScenarioPath,
    command: Annotated[list[str], typer.Argument(help="Your program and its arguments, after --.", show_default=False)],
    policy: PolicyOption = None,
    compress: Annotated[
        float | None,
        typer.Option(
            help="Play operator actions, load and the end this many times sooner (default: the scenario's "
            "live_compression).",
            min=1,
            max=10_000,
        ),
    ] = None,
    load: Annotated[bool, typer.Option(help="Also play the scenario's load section with Locust.")] = True,
    out: OutOption = Path("runs"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also print the DNS control plane's steps.")] = False,
    assume_role: Annotated[
        bool,
        typer.Option(
            "--assume-role",
            help="Give the program no keys of its own: its SDK assumes a role through the cloud's STS (a declared "
            'service with protocol = "sts"), as an application in a container or with a role profile does.',
        ),
    ] = False,
    role_arn: Annotated[
        str | None, typer.Option(help="The role to assume (with --assume-role; default: a role of the cloud's own).")
    ] = None,
) -> None:
    """Run your own program against the scenario's live cloud: unmodified AWS SDK code reaches it by its names."""
    from scenarios.guest.program import DEFAULT_ROLE, Program, ProgramNotFound

    if role_arn is not None and not assume_role:
        errors.print("error: --role-arn needs --assume-role", highlight=False, markup=False)
        raise typer.Exit(2)
    program = Program(
        tuple(command[1:] if command[:1] == ["--"] else command), (role_arn or DEFAULT_ROLE) if assume_role else None
    )
    try:
        program.check()
    except ProgramNotFound as exc:
        errors.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(exc.status) from None
    loaded = with_overrides(load_or_exit(scenario), scenario, policy, None)
    if assume_role and not any(s.protocol == "sts" for s in loaded.services):
        errors.print(
            f'error: {scenario}: --assume-role needs a service that speaks STS (protocol = "sts" under [[services]]); '
            "scenarios/aws-2025-10-19.toml and scenarios/cascade-live.toml have one",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    changes = {"live_compression": compress} if compress is not None else {}
    loaded = live_or_exit(loaded.model_copy(update=changes | ({} if load else {"load": None})), scenario)
    raise typer.Exit(exec_program(loaded, program, out, errors, verbose=verbose))


def exec_program(scenario: Scenario, program: Program, out: Path, console: Console, *, verbose: bool = False) -> int:
    """Run `program` through `scenario`'s live cloud (already made live: `for_live`); returns the exit status to
    leave with. `console` is where cascadesim speaks (stderr: stdout is the program's)."""
    from scenarios.run.console import EventPrinter
    from scenarios.run.execute import RunOptions, execute, prepare_run_directory, run_directory, stamp_now

    directory = run_directory(out, scenario, stamp_now())
    prepare_run_directory(scenario, directory)  # an unwritable --out: one line, before anything starts
    printer = EventPrinter(console, verbose=verbose, quiet=True)
    result = execute(scenario, directory, RunOptions(), sinks=(printer,), guest=program)
    command = shlex.join(program.argv)
    for problem in result.problems:
        console.print(f"error: {problem}", highlight=False, markup=False, soft_wrap=True)
    ran = result.program
    if ran is None or ran.status is None:  # never started: the cloud failed first, or Ctrl-C came before it was ready
        console.print(f"the program did not run; run directory: {directory}", highlight=False, soft_wrap=True)
        return 130 if result.interrupted else 1
    first_fault = min((f.at for f in scenario.faults), default=None)
    lasted = ran.seconds or 0.0
    if not ran.stopped and first_fault is not None and (ran.ended or 0.0) < first_fault:
        console.print(
            f"{command} exited with status {ran.status} after {lasted:.1f} s, {ran.ended:.1f} s into the run, before "
            f"the scenario's first fault (at {first_fault:g} s): it met nothing of the outage; run directory: "
            f"{directory}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return ran.status
    how = (
        "exited"
        if not ran.stopped
        else ("was stopped (Ctrl-C)" if result.interrupted else "was stopped at the run's end")
    )
    console.print(
        f"{command} {how}, status {ran.status}, after {lasted:.1f} s; run directory: {directory} "
        f"(report: {directory / 'report.html'})",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    return ran.status
