"""A Network Load Balancer in front of a declared service's targets (names after AWS's 2025-10-20 summary).

The service runs on `targets` instances that the NLB launches through the EC2-like service (each an HTTP node of
its own, its own capacity model); the NLB's `nodes` (one per zone) are what the service's
DNS name answers with, and each forwards a request to a target in service, round robin.

Every `check_interval` the health-check fleet checks each target and each node. The fleet is itself made of EC2
instances, `checkers` of them, one replaced by a newly launched instance every `checker_lifetime / checkers`
seconds, and each checker checks its own share of the targets and nodes. A check made by a checker whose network
state the Network Manager has not yet propagated fails, however healthy its target. That is AWS's account: "the
health check subsystem bringing new EC2 instances into service while the network state for those instances had
not yet fully propagated … health checks alternating between failing and healthy". With a propagation backlog,
new checkers stay without network state, so targets and nodes go out and come back again and again; without
one, they are propagated before their first check and nothing flaps.
Nothing here is scripted: the flapping comes from the backlog and the checks.

The fleet's own load follows services/topology/nlb_health.py's CheckLoad: with a `check_capacity`, every change of
membership costs the fleet work, and checks that come late fail, so flapping, once the backlog starts it, can
keep itself going (in AWS's account, the alternating results loaded the health-check subsystem until it
degraded) until failover is disabled.

Membership follows services/topology/nlb_health.py (thresholds, velocity control, failing open): a target out of service
gets no requests, and with DNS failover on, a node whose checks fail leaves the service's DNS answer.
`disable_nlb_failover` turns the automatic failover off, as the operators did at 09:36 PDT: every node and target
back in service, none taken out again.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from services import runtime
from services.client.service_client import ServiceClient
from services.dns import Action, Change, RecordSet, WeightedAddress
from services.dns.zone import Zone
from services.ec2.netmgr import NetworkManager
from services.event_kinds import EventKind
from services.events import EventLog
from services.net.addresses import nlb_node_host, nlb_target_host
from services.net.http import HttpRequest, HttpResponse, Routes, json_response
from services.net.network import Network
from services.node.restartable import HttpNode
from services.topology.nlb_health import CheckLoad, HealthBook, HealthRules

FLAP_WINDOW = 300.0  # seconds: a target out again this soon after it came back is flapping


@dataclass(frozen=True)
class NlbSettings:
    """An NLB's shape and its health checks (scenarios/config/declared_services.py's NlbConfig, as plain settings)."""

    targets: int = 3
    nodes: int = 2
    check_interval: float = 2.0
    rules: HealthRules = field(default_factory=HealthRules)
    checkers: int = 3
    checker_lifetime: float = 30.0
    dns_failover: bool = True
    check_capacity: float | None = None  # checks' worth of work the fleet does per interval (None: no limit)
    change_cost: float = 0.0  # work each membership change adds (its DNS update and re-checks)


@dataclass
class Target:
    """One of the service's instances behind the NLB."""

    name: str
    instance: str  # its EC2 instance id, whose network state must be propagated
    node: HttpNode


class NetworkLoadBalancer:
    """The NLB of one declared service: its nodes, its targets, its health-check fleet."""

    def __init__(
        self,
        name: str,
        dns_name: str,
        settings: NlbSettings,
        network: Network,
        events: EventLog,
        zone: Zone,
        ec2: ServiceClient,
        netmgr: NetworkManager,
        target_routes: Callable[[int], Routes],
        port: int,
        first_address: int,
        rng: random.Random,
    ) -> None:
        self.name = name
        self.dns_name = dns_name
        self.settings = settings
        self.network = network
        self.events = events
        self.zone = zone
        self.ec2 = ec2
        self.netmgr = netmgr
        self.target_routes = target_routes
        self.port = port
        self.first_address = first_address
        self.dns_failover = settings.dns_failover  # a node whose checks fail leaves the DNS answer
        self.disabled = False  # the operators turned automatic failover off: nothing is taken out any more
        self.targets: list[Target] = []
        self.checkers: list[str] = []
        self.target_health = HealthBook(settings.rules)
        self.node_health = HealthBook(settings.rules)
        self.check_load = CheckLoad(settings.check_capacity, settings.change_cost)
        self._rng = rng  # which checks come late when the fleet is behind
        self.nodes = [
            HttpNode(
                f"{name}-nlb-{i}",
                network,
                Routes(
                    [
                        ("POST", "/{operation}", self._forward),
                        ("POST", "/", self._forward),  # an AWS protocol's requests (services/topology/sts.py)
                        ("GET", "/health", self._health),
                    ]
                ),
                (nlb_node_host(first_address + i - 1), port),
                events,
            )
            for i in range(1, settings.nodes + 1)
        ]
        self._turn = itertools.count()
        self._http = network.http_client(timeout=5.0, max_connections=16)
        self.removed_per_interval: list[int] = []  # for the tests and the report: how many went out each interval
        self._back_in: dict[str, float] = {}  # when each target last came back into service
        self.last_change: float | None = None  # when a target or node last went out or came back
        self.flapping_since: float | None = None  # the current flapping episode (see `flapping`)

    async def run(self, *, task_status: runtime.TaskStatus[None] = runtime.TASK_STATUS_IGNORED) -> None:
        """Launch the targets and the checkers, serve, publish DNS, then check and rotate until cancelled."""
        async with runtime.create_task_group() as tg:
            for node in self.nodes:
                await tg.start(node.run)
                self.node_health.add(node.name, in_service=True)
            for k in range(1, self.settings.targets + 1):
                instance = await self._launch()
                address = (nlb_target_host(self.first_address + k - 1), self.port)
                node = HttpNode(f"{self.name}-{k}", self.network, self.target_routes(k), address, self.events)
                await tg.start(node.run)
                self.targets.append(Target(node.name, instance, node))
                self.target_health.add(node.name, in_service=True)
            self.checkers = [await self._launch() for _ in range(self.settings.checkers)]
            self._publish()
            task_status.started()
            tg.start_soon(self._rotate)
            await self._check()

    def disable_failover(self) -> None:
        """What the operators did at 09:36 PDT: every node and target back in service, none taken out again."""
        self.disabled = True
        self.check_load.clear()
        for book in (self.target_health, self.node_health):
            for name in book.members:
                book.members[name].in_service = True
        self._publish()

    async def _launch(self) -> str:
        """A new EC2 instance's id, asking again a second later while launches fail."""
        while True:
            result = await self.ec2.call("POST", "/", content=b'{"Action": "RunInstances", "MinCount": 1}')
            if result.reply is not None and result.reply.status < 400:
                instances = result.reply.raw.json().get("Instances", [])
                if instances:
                    return str(instances[0]["InstanceId"])
            await runtime.sleep(1.0)

    async def _rotate(self) -> None:
        """Replace the oldest checker with a newly launched instance, one at a time, terminating the old one."""
        every = self.settings.checker_lifetime / max(1, self.settings.checkers)
        while True:
            await runtime.sleep(every)
            fresh = await self._launch()
            retired, self.checkers = self.checkers[0], [*self.checkers[1:], fresh]
            body = json.dumps({"Action": "TerminateInstances", "InstanceIds": [retired]}).encode()
            await self.ec2.call("POST", "/", content=body)  # a failed termination leaves a slot taken, as in EC2

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _check(self) -> None:
        """Each interval, every target and node checked by the checker whose share it is (the k-th by the k-th
        checker, modulo; as the fleet is replaced, the shares move along with the list): a checker without network
        state fails every check it makes."""
        while True:
            await runtime.sleep(self.settings.check_interval)
            if self.disabled:  # the operators turned it off: everything stays in service
                continue
            members = [t.name for t in self.targets] + [n.name for n in self.nodes]
            late = set(self._rng.sample(members, self.check_load.late(len(members))))
            results = {
                target.name: self._reachable(self.checkers[k % len(self.checkers)])
                and self._reachable(target.instance)
                and target.node.up
                and target.name not in late
                for k, target in enumerate(self.targets)
            }
            removed, returned = self.target_health.record(results, runtime.current_time())
            self.removed_per_interval.append(len(removed))
            for name in removed:
                self.events.emit(EventKind.NLB_TARGET_OUT, self.name, f"{name} out of service: health checks failed")
            for name in returned:
                self.events.emit(EventKind.NLB_TARGET_IN, self.name, f"{name} back in service")
            self._note_flapping(removed, returned)
            node_results = {
                node.name: self._reachable(self.checkers[(k + len(self.targets)) % len(self.checkers)])
                and node.up
                and node.name not in late
                for k, node in enumerate(self.nodes)
            }
            out, back = self.node_health.record(node_results, runtime.current_time())
            if out or back:
                self._publish()
            dns_changes = len(out) + len(back) if self.dns_failover else 0  # a node's change is a DNS update
            self.check_load.changed(len(removed) + len(returned) + dns_changes)

    def flapping(self) -> bool:
        """Whether its targets are flapping now: one went out again under FLAP_WINDOW after it came back, and
        membership has changed within the last FLAP_WINDOW (failover disabled: no longer)."""
        now = runtime.current_time()
        recent = self.last_change is not None and now - self.last_change <= FLAP_WINDOW
        return self.flapping_since is not None and recent and not self.disabled

    def _note_flapping(self, removed: list[str], returned: list[str]) -> None:
        """Keep track of flapping; say when an episode begins (the event an operator can act on)."""
        now = runtime.current_time()
        if self.flapping_since is not None and not self.flapping():
            self.flapping_since = None  # quiet for FLAP_WINDOW: that episode is over
        if removed or returned:
            self.last_change = now
        for name in returned:
            self._back_in[name] = now
        again = [name for name in removed if now - self._back_in.get(name, -FLAP_WINDOW - 1) <= FLAP_WINDOW]
        if again and self.flapping_since is None:
            self.flapping_since = now
            self.events.emit(
                EventKind.NLB_FLAPPING,
                self.name,
                f"{self.name}'s targets are flapping: {again[0]} out again "
                f"{now - self._back_in[again[0]]:.0f} s after it came back",
                target=again[0],
            )

    def _reachable(self, instance: str) -> bool:
        return self.netmgr.reachable(instance)

    def _publish(self) -> None:
        """The service's DNS answer: the nodes in service, or all of them without DNS failover."""
        use_checks = self.dns_failover and not self.disabled
        chosen = self.node_health.in_service() if use_checks else [n.name for n in self.nodes]
        addresses = tuple(WeightedAddress(n.address[0]) for n in self.nodes if n.name in chosen)
        self.zone.change([Change(Action.UPSERT, RecordSet(self.dns_name, addresses, 5))])

    async def _health(self, request: HttpRequest) -> HttpResponse:
        return json_response({"status": "ok", "nlb": self.name})

    async def _forward(self, request: HttpRequest) -> HttpResponse:
        in_service = set(self.target_health.in_service())
        pool = [t for t in self.targets if t.name in in_service] or self.targets  # fail open
        if not pool:  # still launching its targets
            return _unavailable(f"{self.name}: no target launched yet")
        target = pool[next(self._turn) % len(pool)]
        host, port = target.node.address
        try:
            return await self._http.request(
                request.method,
                f"http://{host}:{port}{request.path}",
                headers=dict(request.headers),
                content=request.body,
            )
        except httpx.HTTPError as exc:  # the target did not answer: the NLB resets the client's connection
            return _unavailable(f"{target.name}: {exc}")


def _unavailable(message: str) -> HttpResponse:
    reply = json_response({"__type": "ServiceUnavailableException", "message": message}, 503)
    reply.headers["x-amzn-errortype"] = "ServiceUnavailableException"
    return reply
