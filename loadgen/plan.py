"""A load plan: everything a load engine needs to know about a run, as plain data.

`scenarios/config/load_plan.py` makes one from a scenario; virtual users take it directly, and Locust's processes read
it as JSON (`CASCADESIM_LOAD_PLAN`), so that nothing under loadgen/ depends on the scenario file format.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loadgen.behaviour import BEHAVIOURS, Stage, UserBehaviour, declared_user, split
from services.throttling.settings import ClientSettings


@dataclass(frozen=True)
class UserKind:
    """Where one kind of user sends its requests, and its timeouts (None: the behaviour's own)."""

    port: int
    timeout: float | None = None
    attempt_timeout: float | None = None
    service: str | None = None  # a declared service's DNS name (the built-in kinds know theirs)
    operations: tuple[str, ...] = ()  # a declared service's operations


@dataclass(frozen=True)
class LoadPlan:
    seed: int
    resolver: tuple[str, int]  # the shared resolver every user asks
    duration: float  # the run's length, seconds
    kinds: Mapping[str, UserKind]  # the user kinds whose service the cloud has
    mix: Mapping[str, int]  # their weights (Locust's user-class weights)
    stages: tuple[Stage, ...] = ()  # users per kind over time, load spikes cut in; none: no load of its own
    spawn_rate: float = 10.0  # users started per second
    client: ClientSettings = field(default_factory=ClientSettings)

    def behaviours(self) -> dict[str, UserBehaviour]:
        """The user kinds, each aimed at its service's port, with the plan's timeouts."""
        kinds = {}
        for name, kind in self.kinds.items():
            if name in BEHAVIOURS:
                behaviour = dataclasses.replace(BEHAVIOURS[name], port=kind.port)
            else:
                behaviour = declared_user(name, kind.service or name, kind.port, kind.operations)
            if kind.timeout is not None:
                behaviour = dataclasses.replace(behaviour, timeout=kind.timeout)
            if kind.attempt_timeout is not None:
                behaviour = dataclasses.replace(behaviour, attempt_timeout=kind.attempt_timeout)
            kinds[name] = behaviour
        return kinds

    def stages_until(self, until: float, users: int | None = None) -> tuple[Stage, ...]:
        """The stages cut off at `until` seconds; with `users` (or without stages), that many users throughout."""
        if users is not None or not self.stages:
            return (Stage(until, split(users or 0, self.mix)),)
        kept = [s for s in self.stages if s.until <= until]
        if len(kept) < len(self.stages):
            kept.append(Stage(until, self.stages[len(kept)].users))
        return tuple(kept)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> LoadPlan:
        data: dict[str, Any] = json.loads(text)
        return cls(
            seed=data["seed"],
            resolver=(data["resolver"][0], data["resolver"][1]),
            duration=data["duration"],
            kinds={
                name: UserKind(**{**kind, "operations": tuple(kind.get("operations", ()))})
                for name, kind in data["kinds"].items()
            },
            mix=data["mix"],
            stages=tuple(Stage(s["until"], s["users"]) for s in data["stages"]),
            spawn_rate=data["spawn_rate"],
            client=ClientSettings(**data["client"]),
        )
