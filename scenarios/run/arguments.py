"""What the `cascadesim` commands share: where they speak, their common arguments, and how a scenario file given
on the command line is read (a broken one: one line, exit status 2)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:  # imported where used: a command that reads no scenario does not load pydantic's models
    from scenarios.config.schema import Scenario
    from services.errors import ListenError

console = Console()
errors = Console(stderr=True)

ScenarioPath = Annotated[Path, typer.Argument(help="A scenario file, e.g. scenarios/dns-race.toml.")]


def load_or_exit(path: Path) -> Scenario:
    from scenarios.config.schema import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as exc:
        errors.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None


PolicyOption = Annotated[
    str | None, typer.Option("--policy", "-p", help="A policy set: a name from `cascadesim policies`, or a file.")
]
VirtualOption = Annotated[bool, typer.Option("--virtual", help="Run in virtual time (fast, exactly repeatable).")]
SeedOption = Annotated[int | None, typer.Option(help="Override the scenario's seed.")]
OutOption = Annotated[Path, typer.Option(help="Where run directories go.")]
WorkersOption = Annotated[
    int, typer.Option(help="Live runs: Locust as a master plus this many worker processes (0: one process).", min=0)
]


def with_overrides(
    scenario: Scenario, origin: Path, policy: str | None, seed: int | None, users: int | None = None
) -> Scenario:
    """The scenario with --policy, --seed and --users (a constant count of its [load] mix, for the whole run)
    applied, validated again as a whole."""
    from scenarios.config.schema import ScenarioError, parse_scenario

    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    if policy is not None:
        data["policy"] = policy
    if seed is not None:
        data["seed"] = seed
    if users is not None:
        if "load" not in data:
            errors.print(f"error: {origin}: --users needs a [load] section (its mix)", highlight=False, markup=False)
            raise typer.Exit(2)
        data["load"]["stages"] = [{"until": scenario.duration, "users": users}]
    try:
        return parse_scenario(data, str(origin))
    except ScenarioError as exc:
        errors.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None


def live_or_exit(scenario: Scenario, origin: Path) -> Scenario:
    """The scenario as a live run plays it (`for_live`), once this machine has what it needs (nginx, say)."""
    from scenarios.config.cloud_settings import live_problem
    from scenarios.config.schema import for_live

    problem = live_problem(scenario)
    if problem is not None:
        errors.print(f"error: {origin}: {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2)
    return for_live(scenario)


def first_leaf(group: BaseExceptionGroup[ListenError]) -> BaseException:
    problem: BaseException = group
    while isinstance(problem, BaseExceptionGroup):
        problem = problem.exceptions[0]
    return problem
