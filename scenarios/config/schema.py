"""Scenario files: TOML validated once, at the edge, into frozen models that forbid unknown keys.

A mistake is reported as one line that names the file, the field and the problem, for example
`scenarios/x.toml: dynamodb.routers = 0: must be at least 1`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from scenarios.config.capacity_config import CapacityConfig
from scenarios.config.declared_services import DeclaredService, check_dependencies
from scenarios.config.fields import ConfigModel, Port, PositiveSeconds, Seconds
from scenarios.config.policies import POLICY_DIR, policy_path
from scenarios.config.problems import FieldProblem, ScenarioError, describe, read_toml
from services.event_kinds import FaultKind, OperatorKind


class DnsConfig(ConfigModel):
    ttl: int = Field(5, ge=0, le=86400)
    negative_ttl: int = Field(5, ge=0, le=86400)
    authority_port: Port = 5300
    resolver_port: Port = 5301
    serve_stale: bool = False
    last_known_good: bool = False


class PlannerConfig(ConfigModel):
    plan_interval: PositiveSeconds = 2.0
    health_timeout: PositiveSeconds = 0.5


class EnactorsConfig(ConfigModel):
    variant: Literal["aws-2025", "fixed"] = "aws-2025"
    poll_interval: PositiveSeconds = 0.5
    transaction_time: Seconds = 0.2
    lock_retry: PositiveSeconds = 0.1
    cleanup_age: int = Field(10, ge=1)
    # AWS's added protection: refuse any change (a plan's, a clean-up's) that would leave an endpoint empty
    refuse_empty: bool = False


class Ec2Config(ConfigModel):
    """The EC2-like service and its DropletWorkflow Manager (see services/ec2/dwfm.py)."""

    droplets: int = Field(200, ge=1, le=100_000)
    slots_per_droplet: int = Field(4, ge=1)
    dwfm_workers: int = Field(2, ge=1)
    dwfm_work_time: Seconds = 0.05
    lease_duration: PositiveSeconds = 30.0
    renew_margin: PositiveSeconds = 10.0
    item_timeout: PositiveSeconds = 3.0
    scan_interval: PositiveSeconds = 1.0
    bootstrap_rate: PositiveSeconds = 10.0
    canary_interval: PositiveSeconds = 5.0
    port: Port = 8000
    netmgr_workers: int = Field(1, ge=1)  # the Network Manager's propagation workers
    propagation_time: PositiveSeconds = 0.2  # seconds to push one instance's or droplet's network state
    # AWS's fixes: admit new work only while fewer than this many items wait (None: the policy set decides)
    dwfm_max_queue: int | None = Field(None, ge=1)  # DWFM's lease work
    netmgr_max_queue: int | None = Field(None, ge=1)  # the Network Manager's propagation work

    @model_validator(mode="after")
    def _margin_fits(self) -> Ec2Config:
        if self.renew_margin >= self.lease_duration:
            raise FieldProblem("renew_margin", self.renew_margin, "must be less than lease_duration")
        return self


class LambdaConfig(ConfigModel):
    """The Lambda-like service (see services/lambda_/); it scales out through EC2, so it needs [ec2]."""

    sandboxes: int = Field(8, ge=1)
    max_sandboxes: int = Field(64, ge=1)
    config_ttl: PositiveSeconds = 30.0
    poller_supervised: bool = False
    port: Port = 8000


class DynamoDbConfig(ConfigModel):
    routers: int = Field(3, ge=1, le=254)
    port: Port = 8000
    capacity: CapacityConfig = CapacityConfig()
    # "nginx": in live runs each router address is a real nginx (Debian's package) in front of the router's app;
    # virtual runs keep the built-in model. kill_node's node "nginx-N" is router N's load balancer.
    load_balancer: Literal["builtin", "nginx"] = "builtin"


UserCount = Annotated[int, Field(ge=0, le=100_000)]


class LoadStage(ConfigModel):
    """Until `until` seconds into the run, keep `users` users, split by the load's mix."""

    until: PositiveSeconds
    users: UserCount


class LoadConfig(ConfigModel):
    """The clients: a mix of user kinds (Locust's user-class weights) and stages of a total user count.

    Live runs drive it through Locust (a LoadTestShape), virtual runs through loadgen/virtual.py.
    """

    # the built-in kinds, or a declared service's name (checked against [[services]] by the scenario)
    mix: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")], UserCount] = {"dynamodb": 1}  # noqa: RUF012
    stages: tuple[LoadStage, ...] = Field(min_length=1)
    spawn_rate: PositiveSeconds = 10.0
    timeout: PositiveSeconds | None = None  # each logical request's deadline (default: the user kind's own)
    attempt_timeout: PositiveSeconds | None = None  # each attempt's own timeout, within the deadline

    @model_validator(mode="after")
    def _stages_in_order(self) -> LoadConfig:
        if sum(self.mix.values()) == 0:
            raise FieldProblem("mix", self.mix, "needs at least one user kind with a weight above 0")
        for i, (before, after) in enumerate(zip(self.stages, self.stages[1:], strict=False), start=1):
            if after.until <= before.until:
                raise FieldProblem(f"stages[{i}].until", after.until, f"must be after stages[{i - 1}].until")
        return self


class _Timed(ConfigModel):
    at: Seconds


class EnactorDelay(_Timed):
    """An Enactor spends `delay` extra seconds (retrying) before each endpoint's change batch."""

    kind: Literal[FaultKind.ENACTOR_DELAY]
    enactor: Literal["A", "B", "C"]
    delay: PositiveSeconds
    duration: PositiveSeconds


class PlannerChurn(_Timed):
    """The Planner publishes every `plan_interval` seconds for a while."""

    kind: Literal[FaultKind.PLANNER_CHURN]
    plan_interval: PositiveSeconds
    duration: PositiveSeconds


class RouterDown(_Timed):
    """A DynamoDB router fails its health checks for a while."""

    kind: Literal[FaultKind.ROUTER_DOWN]
    router: int = Field(ge=1)
    duration: PositiveSeconds


NodeName = Annotated[str, Field(pattern=r"^(router-[1-9][0-9]*|ec2-api|dwfm|netmgr|lambda)$")]


class KillNode(_Timed):
    """A node's process is gone: a router, a router's nginx, the EC2 API or Lambda stops listening (connections
    refused), the Network Manager stops propagating; with a duration it comes back."""

    kind: Literal[FaultKind.KILL_NODE]
    node: Annotated[str, Field(pattern=r"^(router-[1-9][0-9]*|nginx-[1-9][0-9]*|ec2-api|netmgr|lambda)$")]
    duration: PositiveSeconds | None = None


class SlowNode(_Timed):
    """A node's service times are multiplied by `factor` for a while (a bad host, a noisy neighbour)."""

    kind: Literal[FaultKind.SLOW_NODE]
    node: NodeName
    factor: Annotated[float, Field(gt=0, le=1000)]
    duration: PositiveSeconds


class LoadSpike(_Timed):
    """The [load] stages' user counts are multiplied by `factor` for a while."""

    kind: Literal[FaultKind.LOAD_SPIKE]
    factor: Annotated[float, Field(gt=0, le=100)]
    duration: PositiveSeconds


# What an operator action can be timed from: an event the system emits (the first of its kind in the run), or
# another operator action having been taken (its kind).
AnchorKind = Literal[
    "record_emptied",  # a DynamoDB record lost its addresses
    "dynamodb_unreachable",  # DWFM cannot resolve DynamoDB
    "leases_expiring",  # DWFM's droplets lose their leases
    "dwfm_no_progress",  # DWFM's congestive collapse: DynamoDB answers, leases do not come back
    "leases_recovered",  # every droplet holds a lease again
    "launches_failing",  # RunInstances fails
    "propagation_backlog",  # the Network Manager's queue is past its threshold
    "nlb_flapping",  # an NLB's targets go out and come back again and again
    "poller_stuck",  # Lambda's event-source poller stopped
    "restore_dns",
    "throttle_dwfm",
    "restart_dwfm",
    "restart_poller",
    "disable_nlb_failover",
    "relax_throttles",
]
# What an operator checks before acting, when the action's time comes (scenarios/run/faults.py reads each).
Condition = Literal[
    "record_empty",  # DynamoDB's regional record has no address
    "dwfm_stalled",  # DWFM holds fewer leases than there are droplets
    "poller_stuck",  # Lambda's poller is stuck
    "nlb_flapping",  # an NLB's targets are flapping (services/topology/nlb.py)
    "dwfm_throttled",  # the operators' DWFM throttle is in place
]


class _OperatorTimed(ConfigModel):
    """When an operator acts: at a fixed second (`at`), or `delay` seconds after an event (`after`); with `when`,
    only if that condition still holds then (otherwise the action is skipped, and the log says so)."""

    at: Seconds | None = None
    after: AnchorKind | None = None
    delay: Seconds = 0.0
    when: Condition | None = None

    @model_validator(mode="after")
    def _one_time(self) -> _OperatorTimed:
        if (self.at is None) == (self.after is None):
            raise FieldProblem(
                "at", self.at, "give either `at` (seconds) or `after` (an event) with a `delay`, not both or neither"
            )
        if self.at is not None and self.delay:
            raise FieldProblem("delay", self.delay, "only with `after` (a delay counts from that event)")
        return self


class RestoreDns(_OperatorTimed):
    """The operators' manual repair of the zone."""

    kind: Literal[OperatorKind.RESTORE_DNS]


class ThrottleDwfm(_OperatorTimed):
    """The operators limit the rate of incoming DWFM work."""

    kind: Literal[OperatorKind.THROTTLE_DWFM]
    rate: PositiveSeconds


class RestartPoller(_OperatorTimed):
    """The operators restart Lambda's stuck event-source poller."""

    kind: Literal[OperatorKind.RESTART_POLLER]


class RelaxThrottles(_OperatorTimed):
    """The operators lift the DWFM throttle once the system has recovered."""

    kind: Literal[OperatorKind.RELAX_THROTTLES]


class DisableNlbFailover(_OperatorTimed):
    """The operators turn off the NLBs' automatic DNS failover: their nodes stay in DNS whatever the checks say."""

    kind: Literal[OperatorKind.DISABLE_NLB_FAILOVER]


class RestartDwfm(_OperatorTimed):
    """The operators restart the DWFM hosts, clearing their queues."""

    kind: Literal[OperatorKind.RESTART_DWFM]


Fault = Annotated[
    EnactorDelay | PlannerChurn | RouterDown | KillNode | SlowNode | LoadSpike, Field(discriminator="kind")
]
OperatorAction = Annotated[
    RestoreDns | ThrottleDwfm | RestartDwfm | RestartPoller | RelaxThrottles | DisableNlbFailover,
    Field(discriminator="kind"),
]


class Scenario(ConfigModel):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    seed: int = 0
    duration: PositiveSeconds = 120.0
    dns: DnsConfig = DnsConfig()
    planner: PlannerConfig = PlannerConfig()
    enactors: EnactorsConfig = EnactorsConfig()
    dynamodb: DynamoDbConfig = DynamoDbConfig()
    ec2: Ec2Config | None = None
    lambda_: LambdaConfig | None = Field(None, alias="lambda")
    policy: str = "naive"
    live_compression: float = Field(1.0, ge=1, le=10_000, allow_inf_nan=False)
    live_from: Seconds = 0.0  # live runs compress the times after this one (before it: the trigger, as written)
    # A virtual run goes on past `duration` until its verdict is decided (recovered or stuck), up to this many
    # simulated seconds (default: duration plus two horizons; set it to the duration to stop there, undecided).
    verdict_cap: PositiveSeconds | None = None
    load: LoadConfig | None = None
    services: tuple[DeclaredService, ...] = ()  # services of the user's (scenarios/config/declared_services.py)
    faults: tuple[Fault, ...] = ()
    operator: tuple[OperatorAction, ...] = ()

    @model_validator(mode="after")
    def _routers_exist(self) -> Scenario:
        if self.verdict_cap is not None and self.verdict_cap < self.duration:
            raise FieldProblem("verdict_cap", self.verdict_cap, f"must be at least the duration ({self.duration:g})")
        for i, fault in enumerate(self.faults):
            if isinstance(fault, RouterDown) and fault.router > self.dynamodb.routers:
                raise FieldProblem(
                    f"faults[{i}].router", fault.router, f"there are only {self.dynamodb.routers} routers"
                )
            if isinstance(fault, KillNode | SlowNode):
                self._node_exists(f"faults[{i}].node", fault.node)
            if isinstance(fault, LoadSpike) and self.load is None:
                raise FieldProblem(f"faults[{i}].kind", fault.kind, "needs a [load] section")
        if not policy_path(self.policy).is_file():
            known = ", ".join(sorted(p.stem for p in POLICY_DIR.glob("*.toml")))
            raise FieldProblem("policy", self.policy, f"no such policy set (known: {known})")
        for i, action in enumerate(self.operator):
            if isinstance(action, ThrottleDwfm | RestartDwfm | RelaxThrottles) and self.ec2 is None:
                raise FieldProblem(f"operator[{i}].kind", action.kind, "needs an [ec2] section")
            if isinstance(action, RestartPoller) and self.lambda_ is None:
                raise FieldProblem(f"operator[{i}].kind", action.kind, "needs a [lambda] section")
            if action.when in ("dwfm_stalled", "dwfm_throttled") and self.ec2 is None:
                raise FieldProblem(f"operator[{i}].when", action.when, "needs an [ec2] section")
            if action.when == "poller_stuck" and self.lambda_ is None:
                raise FieldProblem(f"operator[{i}].when", action.when, "needs a [lambda] section")
        if self.lambda_ is not None and self.ec2 is None:
            raise FieldProblem("lambda", "...", "needs an [ec2] section: Lambda scales out on EC2 instances")
        declared = {s.name for s in self.services}
        for kind, weight in self.load.mix.items() if self.load is not None else ():
            if kind in declared:
                continue
            if kind not in ("dynamodb", "ec2", "lambda"):
                known = ", ".join(["dynamodb", "ec2", "lambda", *sorted(declared)])
                raise FieldProblem(f"load.mix.{kind}", kind, f"must be one of {known}")
            if weight and getattr(self, "lambda_" if kind == "lambda" else kind) is None:
                raise FieldProblem(f"load.mix.{kind}", weight, f"needs a [{kind}] section")
        behind = [s.nlb for s in self.services if s.nlb is not None]
        if behind and self.ec2 is not None:
            needed = sum(nlb.targets + nlb.checkers + 1 for nlb in behind)  # +1: a checker being replaced
            slots = self.ec2.droplets * self.ec2.slots_per_droplet
            if needed > slots:
                raise FieldProblem("services", f"{needed} instances", f"the NLBs need more than [ec2] has ({slots})")
        check_dependencies(
            self.services, {"dynamodb": True, "ec2": self.ec2 is not None, "lambda": self.lambda_ is not None}
        )
        if self.live_from >= self.duration:
            raise FieldProblem(
                "live_from", _plain(self.live_from), f"must come before the end (duration = {self.duration:g})"
            )
        if self.dns.authority_port == self.dns.resolver_port:
            raise FieldProblem("dns.resolver_port", self.dns.resolver_port, "must differ from dns.authority_port")
        return self

    def _node_exists(self, field: str, node: str) -> None:
        if node.startswith("router-") and int(node.removeprefix("router-")) > self.dynamodb.routers:
            raise FieldProblem(field, node, f"there are only {self.dynamodb.routers} routers")
        if node.startswith("nginx-"):
            if self.dynamodb.load_balancer != "nginx":
                raise FieldProblem(field, node, 'needs [dynamodb] load_balancer = "nginx"')
            if int(node.removeprefix("nginx-")) > self.dynamodb.routers:
                raise FieldProblem(field, node, f"there are only {self.dynamodb.routers} routers, one nginx each")
        if node in ("ec2-api", "dwfm", "netmgr") and self.ec2 is None:
            raise FieldProblem(field, node, "needs an [ec2] section")
        if node == "lambda" and self.lambda_ is None:
            raise FieldProblem(field, node, "needs a [lambda] section")


def _plain(number: float) -> float | int:
    """500.0 as the user wrote it, 500."""
    return int(number) if number.is_integer() else number


def for_live(scenario: Scenario) -> Scenario:
    """The scenario as a live run plays it: with `live_compression` = k, the operator actions, the load stages and
    the run's end come k times sooner, counted from `live_from`, so an incident of hours keeps its phases' order
    and proportions in minutes of real time. `live_from` is when the incident begins (the race emptying the record,
    say): the trigger before it plays as written, and so do the faults, whose mechanics have their own time scale.
    A time t after `live_from` becomes live_from + (t - live_from) / k; an operator action timed from an event
    comes `delay` / k after it; an STS session of a declared service lasts k times less (`session_scale`)."""
    k = scenario.live_compression
    if k == 1:
        return scenario
    origin = scenario.live_from

    def sooner(t: float) -> float:
        return t if t <= origin else origin + (t - origin) / k

    load = scenario.load
    services = tuple(s.model_copy(update={"session_scale": s.session_scale * k}) for s in scenario.services)
    if load is not None:
        stages = tuple(stage.model_copy(update={"until": sooner(stage.until)}) for stage in load.stages)
        load = load.model_copy(update={"stages": stages})
    return scenario.model_copy(
        update={
            "duration": sooner(scenario.duration),
            "operator": tuple(
                a.model_copy(update={"at": sooner(a.at)} if a.at is not None else {"delay": a.delay / k})
                for a in scenario.operator
            ),
            "load": load,
            "services": services,
            "live_compression": 1.0,
            "live_from": 0.0,
        }
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raises ScenarioError with a one-line message."""
    path = Path(path)
    return parse_scenario(read_toml(path), str(path))


def parse_scenario(data: dict[str, Any], origin: str) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{origin}: {describe(exc)}") from None


__all__ = ["ScenarioError", "describe", "read_toml"]  # re-exported: where a config model is, its errors are
