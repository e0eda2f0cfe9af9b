"""The commands that read files and say what is in them: `validate`, `report`, `scenarios`, `schema`, `policies`.

Registered on the `cascadesim` app by scenarios/cli/commands.py; like the commands there, each imports what it uses
when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scenarios.run.arguments import ScenarioPath, console, errors, load_or_exit

SHIPPED = Path(__file__).resolve().parents[1]  # scenarios/: the shipped scenario files


def validate(scenario: ScenarioPath) -> None:
    """Check a scenario file (or a what-if file, every variant); print a one-line error and exit 2 if it is broken."""
    from scenarios.config.problems import ScenarioError, read_toml
    from scenarios.config.what_if import is_what_if_file, load_what_if

    try:
        what_if = load_what_if(scenario) if is_what_if_file(read_toml(scenario)) else None
    except ScenarioError as exc:
        errors.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if what_if is not None:
        names = ", ".join(v.name for v in what_if.variants)
        console.print(
            f"{scenario}: ok ({what_if.base.name}: {len(what_if.variants)} variants: {names})", highlight=False
        )
        return
    loaded = load_or_exit(scenario)
    console.print(
        f"{scenario}: ok ({loaded.name}: {len(loaded.faults)} faults, {len(loaded.operator)} operator actions, "
        f"{loaded.duration:g} s, enactors {loaded.enactors.variant})",
        highlight=False,
    )


def report(
    runs: Annotated[
        list[Path],
        typer.Argument(help="Run directories, or comparison directories (as `run` and `compare` write them)."),
    ],
) -> None:
    """Render reports again from saved files: a run's report.html, or a comparison's comparison.html and its runs'."""
    from reports.comparison import load_comparison, render_comparison
    from reports.render import render_run

    for directory in runs:
        if (directory / "comparison.json").is_file():
            _, compared = load_comparison(directory)
            for run in compared:
                if (directory / run.directory / "meta.json").is_file():
                    console.print(f"wrote {render_run(directory / run.directory)}", highlight=False)
            console.print(f"wrote {render_comparison(directory)}", highlight=False)
        elif (directory / "meta.json").is_file():
            console.print(f"wrote {render_run(directory)}", highlight=False)
        else:
            errors.print(
                f"error: {directory}: not a run or comparison directory (no meta.json or comparison.json)",
                highlight=False,
                markup=False,
            )
            raise typer.Exit(2)


def scenarios(
    directory: Annotated[Path, typer.Argument(help="Where to look.")] = SHIPPED,
) -> None:
    """List the scenario files, with what each one shows."""
    from rich.text import Text

    from scenarios.config.schema import ScenarioError, load_scenario
    from scenarios.run.listing import Field, Listing

    fields = ("duration", "policy", "load")
    table = Listing("scenarios", [Field("file", "name"), *map(Field, fields), Field("description", "text")])
    for path in sorted(directory.glob("*.toml")):
        shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
        try:
            loaded = load_scenario(path)
        except ScenarioError as exc:
            table.add_row(str(shown), "", "", "", Text(f"broken: {exc}", style="red"))
            continue
        load = "-" if loaded.load is None else f"{max(s.users for s in loaded.load.stages)} users"
        table.add_row(str(shown), f"{loaded.duration:g} s", loaded.policy, load, loaded.description)
    console.print(table)


def schema() -> None:
    """Print the JSON Schema of scenario files (for editors: completion and checking as you type)."""
    import json

    from scenarios.config.schema import Scenario

    print(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))


def policies(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Policy set files (default: every file in scenarios/policies/).")
    ] = None,
) -> None:
    """List the throttling policy sets; a broken file gets a one-line error and exit 2."""
    from scenarios.config.policies import load_policy_set, policy_sets
    from scenarios.config.problems import ScenarioError
    from scenarios.run.listing import Field, Listing

    fields = [Field("name", "name"), Field("client", "text"), Field("server", "text"), Field("description", "text")]
    table = Listing("policy sets", fields)
    try:  # the shipped sets (each named as its file), or the files given
        sets = list(policy_sets().values()) if not paths else [load_policy_set(path) for path in paths]
    except ScenarioError as exc:
        errors.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    for policy in sets:
        table.add_row(*policy.summary())
    console.print(table)
