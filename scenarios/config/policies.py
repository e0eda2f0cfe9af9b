"""Policy sets: named bundles of client, server and resolver choices (`scenarios/policies/*.toml`).

A policy set is validated like a scenario (frozen models, unknown keys refused, one-line errors naming the file
and the field) and handed down to the services as plain settings (`services.throttling.settings`), from which each
client and node builds its own policy objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from scenarios.config.fields import ConfigModel, PositiveSeconds
from scenarios.config.problems import ScenarioError, describe, read_toml
from services.throttling.backoff import Jitter
from services.throttling.settings import (
    AdmissionKind,
    ClientSettings,
    DisciplineKind,
    Limit,
    Retry,
    ServerSettings,
)

POLICY_DIR = Path(__file__).resolve().parents[1] / "policies"  # scenarios/policies/


class ClientConfig(ConfigModel):
    retry: Retry = "none"
    max_attempts: int = Field(3, ge=1, le=100)
    base: PositiveSeconds = 0.1
    cap: PositiveSeconds = 20.0
    jitter: Jitter = "full"
    wait: PositiveSeconds = 1.0
    limit: Limit = "none"
    # aws-standard and aws-adaptive: the SDKs' standard mode as designed in 2020, or as revised in 2026 (where,
    # unless max_attempts is given, DynamoDB's clients make 4 attempts and the others 3)
    rules: Literal["2020", "2026"] = "2020"

    def settings(self) -> ClientSettings:
        settings = self.model_dump()
        if self.rules == "2026" and "max_attempts" not in self.model_fields_set:
            settings["max_attempts"] = None
        return ClientSettings(**settings)


class ServerConfig(ConfigModel):
    admission: AdmissionKind = "none"
    rate: PositiveSeconds = 100.0
    burst: int = Field(100, ge=1)
    limit: int = Field(100, ge=1)
    max_queue: int = Field(100, ge=0)
    discipline: DisciplineKind = "fifo"
    max_age: PositiveSeconds = 0.1
    drop_expired: bool = False
    # Velocity control for every NLB of the run (AWS's fix after 2025-10-20), unless a service's [nlb] sets its own
    nlb_max_removed_share: float | None = Field(None, gt=0, le=1)

    def settings(self) -> ServerSettings:
        return ServerSettings(**self.model_dump())


class ResolverConfig(ConfigModel):
    serve_stale: bool = False
    last_known_good: bool = False


class PolicySet(ConfigModel):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    client: ClientConfig = ClientConfig()
    server: ServerConfig = ServerConfig()
    resolver: ResolverConfig = ResolverConfig()

    def summary(self) -> tuple[str, str, str, str]:
        """Its name, its client and server choices in a few words, and its description (`cascadesim policies`)."""
        c, s = self.client, self.server
        attempts = c.max_attempts if c.rules == "2020" or "max_attempts" in c.model_fields_set else "3-4"
        client = c.retry + (f" ×{attempts}" if c.retry != "none" else "")
        client += f" ({c.rules} rules)" if c.retry.startswith("aws-") else ""
        client += f" ({c.jitter} jitter)" if c.retry == "exponential" else ""
        client += f" + {c.limit}" if c.limit != "none" else ""
        parts = (
            s.admission if s.admission != "none" else "",
            s.discipline if s.discipline != "fifo" else "",
            "drop expired" if s.drop_expired else "",
            f"NLB velocity {s.nlb_max_removed_share:.0%}" if s.nlb_max_removed_share is not None else "",
        )
        return self.name, client, ", ".join(part for part in parts if part) or "-", self.description


def policy_path(policy: str) -> Path:
    """Where a scenario's `policy` lives: a shipped set's name, or a policy set file of your own (*.toml)."""
    return Path(policy) if policy.endswith(".toml") else POLICY_DIR / f"{policy}.toml"


def load_policy_set(path: str | Path) -> PolicySet:
    path = Path(path)
    data = read_toml(path)
    try:
        return PolicySet.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {describe(exc)}") from None


def policy_sets(directory: Path = POLICY_DIR) -> dict[str, PolicySet]:
    """Every policy set in `directory`, by name; raises ScenarioError on the first broken file."""
    sets = {}
    for path in sorted(directory.glob("*.toml")):
        policy = load_policy_set(path)
        if policy.name != path.stem:
            raise ScenarioError(f"{path}: name = {policy.name!r}: must match the file name ({path.stem!r})")
        sets[policy.name] = policy
    return sets
