"""Services declared in a scenario (`[[services]]`): a name, a capacity model, and operations that call other
services, checked once, at the edge.

    [[services]]
    name = "sts"                       # reachable as sts.us-east-1.cloud.test
    capacity = { workers = 16, queue_limit = 256 }

    [services.operations.AssumeRole]   # POST /AssumeRole
    calls = [
        # DynamoDB on a table, cached for 300 s; when the call fails, the operation serves the cached answer
        { service = "dynamodb", operation = "GetItem", table = "sts-credentials", cache_ttl = 300,
          on_failure = "serve_from_cache" },
    ]

A call names a service: `dynamodb` (GetItem, PutItem or Query, on a table), `ec2` (RunInstances or
DescribeInstances), `lambda` (Invoke), or another declared service (one of its operations). Mistakes get one line
that names the field: an unknown service or operation, a call to a section the scenario lacks, a dependency cycle.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from scenarios.config.capacity_config import CapacityConfig, ServiceTimeConfig
from scenarios.config.fields import ConfigModel, Port, PositiveSeconds, Seconds
from scenarios.config.problems import FieldProblem
from services.net.addresses import DECLARED_NETWORK

BUILT_IN = {
    "dynamodb": ("GetItem", "PutItem", "Query"),
    "ec2": ("RunInstances", "DescribeInstances"),
    "lambda": ("Invoke",),
}
# Names a declared service cannot take: the built-in services and the prefixes of the nodes' time-series columns.
RESERVED = frozenset({*BUILT_IN, "ec2_api", "ec2-api", "dwfm", "netmgr", "clients", "app", "dns", "second"})


def _service_capacity() -> CapacityConfig:
    """A declared service's default capacity, per node: 16 workers, 256 waiting, 2 ms a request."""
    return CapacityConfig(workers=16, queue_limit=256, service_time=ServiceTimeConfig(mean=0.002))


class DeclaredCall(ConfigModel):
    """One call an operation makes, in order."""

    service: str = Field(min_length=1)
    operation: str = Field(min_length=1)
    table: str | None = Field(None, min_length=3, max_length=255, pattern=r"^[a-zA-Z0-9_.-]+$")
    cache_ttl: Seconds = 0.0  # keep a successful answer this long and use it instead of calling (0: never)
    on_failure: Literal["fail", "serve_from_cache"] = "fail"

    @model_validator(mode="after")
    def _table_where_needed(self) -> DeclaredCall:
        if self.service == "dynamodb" and self.table is None:
            raise FieldProblem("table", None, "a DynamoDB call needs a table")
        if self.service != "dynamodb" and self.table is not None:
            raise FieldProblem("table", self.table, "only a DynamoDB call takes a table")
        if self.on_failure == "serve_from_cache" and self.cache_ttl == 0:
            raise FieldProblem("on_failure", self.on_failure, "needs a cache_ttl above 0 (there is nothing to serve)")
        return self


class Operation(ConfigModel):
    calls: tuple[DeclaredCall, ...] = ()


class NlbConfig(ConfigModel):
    """A Network Load Balancer in front of the service (services/topology/nlb.py): its targets are EC2 instances it
    launches, its nodes what the service's name answers with; health checks come from a fleet of checker
    instances that are replaced over time, and need their network state propagated to check anything."""

    targets: int = Field(3, ge=1, le=50)
    nodes: int = Field(2, ge=1, le=20)
    check_interval: PositiveSeconds = 2.0
    healthy_threshold: int = Field(2, ge=1)
    unhealthy_threshold: int = Field(2, ge=1)
    checkers: int = Field(3, ge=1, le=50)
    checker_lifetime: PositiveSeconds = 30.0  # one checker is replaced every checker_lifetime / checkers seconds
    dns_failover: bool = True  # a node whose checks fail leaves the service's DNS answer
    max_removed_share: float | None = Field(None, gt=0, le=1)  # velocity control: None (no limit) or a share
    velocity_window: PositiveSeconds | None = None  # ... of the members over this many seconds (None: an interval)
    check_capacity: float | None = Field(None, gt=0)  # checks' worth of work the fleet does per interval
    change_cost: float = Field(0.0, ge=0)  # the work each membership change adds (DNS update, re-checks)

    @model_validator(mode="after")
    def _fleet_can_check_everything(self) -> NlbConfig:
        members = self.targets + self.nodes
        if self.check_capacity is not None and self.check_capacity <= members:
            raise FieldProblem(
                "check_capacity",
                self.check_capacity,
                f"must be above one check per target and node ({members}) an interval, or a backlog never drains",
            )
        return self


class DeclaredService(ConfigModel):
    """A service of the user's, declared in the scenario."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    port: Port = 8000
    capacity: CapacityConfig = Field(default_factory=_service_capacity)
    operations: dict[str, Operation] = Field(min_length=1)
    nlb: NlbConfig | None = None
    # "sts": the service also speaks AWS STS's query protocol (AssumeRole, GetCallerIdentity) at POST /, for the
    # SDKs; its AssumeRole operation's calls are what an AssumeRole needs (services/topology/sts.py).
    protocol: Literal["json", "sts"] = "json"
    # An STS session lasts DurationSeconds / session_scale; a live run played k times faster multiplies it by k.
    session_scale: float = Field(1.0, gt=0, le=1_000_000, allow_inf_nan=False)

    @model_validator(mode="after")
    def _name_free(self) -> DeclaredService:
        if self.name in RESERVED or re.fullmatch(r"(router|nginx)-[0-9]+", self.name):
            raise FieldProblem("name", self.name, "is a built-in service's or node's name; pick another")
        for operation in self.operations:
            if not operation.isidentifier():
                raise FieldProblem(f"operations.{operation}", operation, "must be a name like AssumeRole")
        if self.protocol == "sts" and "AssumeRole" not in self.operations:
            raise FieldProblem("protocol", self.protocol, "needs an AssumeRole operation (what an AssumeRole calls)")
        return self


def check_dependencies(services: tuple[DeclaredService, ...], sections: dict[str, bool]) -> None:
    """Every call names a known service and operation, whose section the scenario has, and no declared service
    depends on itself through others. `sections` says which built-in services the scenario runs. Raises
    FieldProblem (its field under `services`)."""
    declared = {s.name: s for s in services}
    if len(services) > 254:
        raise FieldProblem("services", f"{len(services)} services", f"at most 254 (they share {DECLARED_NETWORK})")
    behind = [s for s in services if s.nlb is not None]
    for field, total in (
        ("targets", sum(s.nlb.targets for s in behind if s.nlb)),
        ("nodes", sum(s.nlb.nodes for s in behind if s.nlb)),
    ):
        if total > 254:
            raise FieldProblem(f"services[].nlb.{field}", total, "at most 254 in all (one loopback /24 each)")
    node_names = {f"{s.name}-{k}" for s in behind if s.nlb for k in range(1, s.nlb.targets + 1)}
    node_names |= {f"{s.name}-nlb-{k}" for s in behind if s.nlb for k in range(1, s.nlb.nodes + 1)}
    seen: set[str] = set()
    for i, service in enumerate(services):
        if service.nlb is not None and not sections.get("ec2", False):
            raise FieldProblem(f"services[{i}].nlb", "...", "needs an [ec2] section: its targets are EC2 instances")
        if service.name in seen:
            raise FieldProblem(f"services[{i}].name", service.name, "is declared twice")
        if service.name in node_names:
            raise FieldProblem(
                f"services[{i}].name", service.name, "is the name of another service's NLB target or node"
            )
        seen.add(service.name)
        for op_name, operation in service.operations.items():
            for j, call in enumerate(operation.calls):
                where = f"services[{i}].operations.{op_name}.calls[{j}]"
                _check_call(where, call, declared, sections)
    for i, service in enumerate(services):
        cycle = _cycle_from(service.name, declared)
        if cycle is not None:
            raise FieldProblem(f"services[{i}].name", service.name, "a dependency cycle: " + " → ".join(cycle))


def _check_call(
    where: str, call: DeclaredCall, declared: dict[str, DeclaredService], sections: dict[str, bool]
) -> None:
    if call.service in BUILT_IN:
        if not sections.get(call.service, False):
            raise FieldProblem(f"{where}.service", call.service, f"needs a [{call.service}] section")
        known = BUILT_IN[call.service]
    elif call.service in declared:
        known = tuple(declared[call.service].operations)
    else:
        names = ", ".join(sorted([*BUILT_IN, *declared]))
        raise FieldProblem(f"{where}.service", call.service, f"no such service (known: {names})")
    if call.operation not in known:
        raise FieldProblem(f"{where}.operation", call.operation, f"{call.service} has {', '.join(known)}")


def _cycle_from(start: str, declared: dict[str, DeclaredService]) -> list[str] | None:
    """A path start → … → start through the declared services' calls, or None."""
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        if name == start and path:
            return [*path, name]
        if name in path or name not in declared:
            return None
        path.append(name)
        for operation in declared[name].operations.values():
            for call in operation.calls:
                found = visit(call.service)
                if found is not None:
                    return found
        path.pop()
        return None

    return visit(start)
