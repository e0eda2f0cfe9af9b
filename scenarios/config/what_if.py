"""What-if files: one scenario and named variants of it, each a sentence and a set of overrides (`compare` runs them).

    # scenarios/what-if/aws-fixes.toml
    scenario = "../aws-2025-10-19.toml"           # relative to this file
    question = "Which of AWS's fixes would have spared whom what?"

    [[variant]]                                    # the first variant is the baseline the others are set beside
    name = "as-it-happened"
    sentence = "The replay as it is."

    [[variant]]
    name = "enactors-fixed"
    sentence = "The Enactors' race fixed, and a safeguard that refuses to empty an endpoint."
    set = { "enactors.variant" = "fixed", "enactors.refuse_empty" = true }

A variant's `set` takes the dotted paths `sweep --vary` takes (`operator[1].delay`, `dynamodb.capacity.workers`,
`services[0].nlb.max_removed_share`, `policy`), each value as TOML reads it. Every variant is validated whole
before anything runs; a mistake is one line naming the file, the variant and the field, e.g.
`scenarios/what-if/x.toml: variant 'faster': operator[9].delay: no operator[9] (the scenario has 6 entries)`.
Every variant runs on the scenario's seed (or `--seed`), so what differs between two is what the variant set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from scenarios.config.axes import with_settings
from scenarios.config.fields import ConfigModel
from scenarios.config.problems import ScenarioError, describe, read_toml
from scenarios.config.schema import Scenario, load_scenario, parse_scenario


class VariantConfig(ConfigModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=40)
    sentence: str = Field(min_length=1)
    set: dict[str, Any] = Field(default_factory=dict)


class WhatIfFile(ConfigModel):
    scenario: str
    question: str = ""
    variant: tuple[VariantConfig, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Variant:
    name: str
    sentence: str
    settings: dict[str, Any]
    scenario: Scenario  # the scenario with the variant's overrides, validated


@dataclass(frozen=True)
class WhatIf:
    path: Path
    question: str
    scenario_path: Path
    base: Scenario
    variants: tuple[Variant, ...]

    @property
    def baseline(self) -> Variant:
        return self.variants[0]


def is_what_if_file(data: dict[str, Any]) -> bool:
    """A what-if file names a scenario and its variants; a scenario file has a name of its own."""
    return "variant" in data and "scenario" in data and "name" not in data


def load_what_if(path: Path, seed: int | None = None) -> WhatIf:
    """The what-if file and every variant's scenario, validated; raises ScenarioError (one line: the file, the
    variant, the field, the problem)."""
    data = read_toml(path)
    try:
        loaded = WhatIfFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {describe(exc)}") from None
    scenario_path = path.parent / loaded.scenario
    try:
        base = load_scenario(scenario_path)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: scenario = {loaded.scenario!r}: {exc}") from None
    if seed is not None:
        data = base.model_dump(mode="json", by_alias=True, exclude_none=True)
        base = parse_scenario(data | {"seed": seed}, str(scenario_path))
    variants: list[Variant] = []
    seen: set[str] = set()
    for i, config in enumerate(loaded.variant):
        where = f"{path}: variant {config.name!r}"
        if config.name in seen:
            raise ScenarioError(f"{where}: variant[{i}].name: the name is given twice")
        seen.add(config.name)
        if "seed" in config.set:
            raise ScenarioError(f"{where}: seed: every variant runs on the same seed (give --seed to change it)")
        scenario = with_settings(base, str(path), config.set, where)
        variants.append(Variant(config.name, config.sentence, dict(config.set), scenario))
    return WhatIf(path, loaded.question, scenario_path, base, tuple(variants))
