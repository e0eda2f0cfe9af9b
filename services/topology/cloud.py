"""Builds the simulated cloud from plain settings and runs it, on a live or a virtual Network.

Each node listens at its place in the address plan (services/net/addresses.py), on the ports the settings give.
`scenarios/config/cloud_settings.py` turns a scenario file into these settings; nothing here knows the file format.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from services import runtime
from services.client.service_client import ServiceClient
from services.dns import (
    REGIONAL,
    ZONE,
    Action,
    Change,
    DnsControlPlane,
    DnsSettings,
    RecordSet,
    RouterTarget,
    WeightedAddress,
)
from services.dns.planner import HealthProbe
from services.dns.stub import StubResolver
from services.dynamodb import Router
from services.dynamodb.tables import Storage
from services.ec2.dwfm import DwfmSettings
from services.ec2.service import EC2_NAME, Ec2Service
from services.event_kinds import EventKind, OperatorKind
from services.events import EventLog
from services.lambda_ import LAMBDA_NAME, LambdaSettings, LambdaStack
from services.net.addresses import EC2_HOST, LAMBDA_HOST, declared_host, router_host
from services.net.http import Routes
from services.net.network import Address, Network
from services.net.outside import OutsideCalls
from services.node.capacity import CapacitySpec
from services.node.restartable import HttpNode, Killable
from services.runtime import TaskStatus
from services.throttling.base import ClientPolicy
from services.throttling.settings import ClientSettings, ServerPolicy, ServerSettings, client_policy, server_policy
from services.topology.declared import DeclaredService, DeclaredSettings
from services.topology.nginx import NginxFront, backend_address, require_nginx
from services.topology.nlb import NetworkLoadBalancer


def declared_name(name: str) -> str:
    """A declared service's DNS name."""
    return f"{name}.us-east-1.{ZONE}"


def router_address(index: int, port: int) -> Address:
    """Router `index` (1-based): its address (services/net/addresses.py)."""
    return (router_host(index), port)


def rng_factory(seed: int) -> Callable[[str], random.Random]:
    """A separate, reproducible random stream per component, derived from the seed."""
    return lambda component: random.Random(f"{seed}:{component}")


@dataclass(frozen=True)
class Ec2Settings:
    port: int
    dwfm: DwfmSettings
    slots_per_droplet: int
    canary_interval: float
    netmgr_workers: int = 1
    propagation_time: float = 0.2
    dwfm_max_queue: int | None = None  # queue-size admission on DWFM's lease work (None: the policy set's)
    netmgr_max_queue: int | None = None  # ... on the Network Manager's propagation work


@dataclass(frozen=True)
class LambdaNodeSettings:
    port: int
    function: LambdaSettings
    poller_supervised: bool


@dataclass(frozen=True)
class CloudSettings:
    """Everything the cloud is built from: its nodes, their capacity, and the policy set's choices."""

    seed: int
    dns: DnsSettings
    routers: int
    dynamodb_port: int
    router_capacity: CapacitySpec
    client: ClientSettings = field(default_factory=ClientSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    ec2: Ec2Settings | None = None
    lambda_: LambdaNodeSettings | None = None
    load_balancer: str = "builtin"  # "nginx": a real nginx at each router address (live runs: topology/nginx.py)
    services: tuple[DeclaredSettings, ...] = ()  # the user's own (services/topology/declared.py)


@dataclass(frozen=True)
class Listener:
    role: str
    protocol: str
    address: Address


class Cloud:
    def __init__(
        self, settings: CloudSettings, network: Network, events: EventLog, *, probe: HealthProbe | None = None
    ) -> None:
        self.settings = settings
        self.network = network
        self.events = events
        rng_for = rng_factory(settings.seed)
        self.rng_for = rng_for
        self.storage = Storage()
        self.routers = [self._router(i, rng_for) for i in range(1, settings.routers + 1)]
        self.router_addresses = [router_address(i, settings.dynamodb_port) for i in range(1, len(self.routers) + 1)]
        # With nginx, each router address is an nginx that proxies to the router's app, which listens behind it.
        self.fronts: list[NginxFront] = []
        app_addresses = self.router_addresses
        if settings.load_balancer == "nginx":
            binary = require_nginx()
            app_addresses = [backend_address(i, settings.dynamodb_port) for i in range(1, len(self.routers) + 1)]
            self.fronts = [
                NginxFront(f"nginx-{i}", address, app, events, binary)
                for i, (address, app) in enumerate(zip(self.router_addresses, app_addresses, strict=True), start=1)
            ]
        self.router_nodes = [
            HttpNode(r.name, network, r.routes, a, events) for r, a in zip(self.routers, app_addresses, strict=True)
        ]
        targets = [RouterTarget(r.name, a) for r, a in zip(self.routers, self.router_addresses, strict=True)]
        self.dns = DnsControlPlane(network, events, settings.dns, targets, rng_for, probe)
        self.ec2 = self._ec2(settings.ec2, rng_for) if settings.ec2 is not None else None
        self.lambda_ = self._lambda(settings.lambda_, rng_for) if settings.lambda_ is not None else None
        # The user's declared services: plain ones on their own addresses; those behind an NLB on targets it launches.
        self.declared: list[DeclaredService] = []  # every instance of every declared service (several behind an NLB)
        self.declared_nodes: list[HttpNode] = []
        self.nlbs: list[NetworkLoadBalancer] = []
        plain = itertools.count(1)
        behind = itertools.count(1)
        self._declared_clients_made: list[ServiceClient] = []  # closed with the cloud, however far it got
        for declared in settings.services:
            clients = self._declared_clients(declared, rng_for)
            self._declared_clients_made += clients.values()
            if declared.nlb is None:
                service = DeclaredService(declared, clients, rng_for(declared.name))
                self.declared.append(service)
                address = (declared_host(next(plain)), declared.port)
                self.declared_nodes.append(HttpNode(declared.name, network, service.routes, address, events))
            else:
                self.nlbs.append(self._nlb(declared, clients, rng_for, behind))

    def client_policy(self, who: str) -> ClientPolicy:
        """A fresh client policy of the policy set for the client `who` (its own random stream)."""
        return client_policy(self.settings.client, self.rng_for(f"{who}-policy"))

    def server_policy(self) -> ServerPolicy:
        return server_policy(self.settings.server)

    def _router(self, index: int, rng_for: Callable[[str], random.Random]) -> Router:
        server = self.server_policy()
        spec = self.settings.router_capacity  # drops expired work if the scenario or the policy set says so
        spec = replace(spec, drop_expired=spec.drop_expired or server.drop_expired)
        name = f"router-{index}"
        return Router(
            name,
            self.storage,
            spec,
            rng_for(name),
            admission=server.admission,
            discipline=server.discipline,
            events=self.events,
        )

    def _ec2(self, config: Ec2Settings, rng_for: Callable[[str], random.Random]) -> Ec2Service:
        stub = StubResolver(self.network, self.dns.settings.resolver, rng_for("ec2-stub"), cache=True)
        return Ec2Service(
            self.network,
            stub,
            self.events,
            config.dwfm,
            address=(EC2_HOST, config.port),
            dynamodb_name=REGIONAL,
            dynamodb_port=self.settings.dynamodb_port,
            api_spec=CapacitySpec(workers=64, queue_limit=1024),
            slots_per_droplet=config.slots_per_droplet,
            canary_interval=config.canary_interval,
            netmgr_workers=config.netmgr_workers,
            propagation_time=config.propagation_time,
            dwfm_max_queue=config.dwfm_max_queue,
            netmgr_max_queue=config.netmgr_max_queue,
            rng_for=rng_for,
            client_policy=self.client_policy,
            server_policy=self.server_policy,
        )

    def _lambda(self, config: LambdaNodeSettings, rng_for: Callable[[str], random.Random]) -> LambdaStack:
        if self.settings.ec2 is None:
            raise ValueError("Lambda needs EC2: it scales out on EC2 instances")
        stub = StubResolver(self.network, self.dns.settings.resolver, rng_for("lambda-stub"), cache=True)

        def client(name: str, port: int, who: str) -> ServiceClient:
            return ServiceClient(
                self.network, stub, name, port, rng_for(who), timeout=2.0, policy=self.client_policy(who)
            )

        return LambdaStack(
            self.network,
            self.events,
            config.function,
            address=(LAMBDA_HOST, config.port),
            dynamodb=client(REGIONAL, self.settings.dynamodb_port, "lambda-dynamodb"),
            ec2=client(EC2_NAME, self.settings.ec2.port, "lambda-ec2"),
            invoke_client=ServiceClient(
                self.network, stub, LAMBDA_NAME, config.port, rng_for("lambda-canary"), timeout=5.0
            ),
            rng_for=rng_for,
            supervised=config.poller_supervised,
        )

    def _nlb(
        self,
        declared: DeclaredSettings,
        clients: dict[str, ServiceClient],
        rng_for: Callable[[str], random.Random],
        addresses: Iterator[int],
    ) -> NetworkLoadBalancer:
        if self.ec2 is None or declared.nlb is None:
            raise ValueError(f"{declared.name}: an NLB's targets are EC2 instances: it needs EC2")
        first = next(addresses)
        for _ in range(max(declared.nlb.targets, declared.nlb.nodes) - 1):
            next(addresses)

        def target(k: int) -> Routes:
            service = DeclaredService(declared, clients, rng_for(f"{declared.name}-{k}"))
            self.declared.append(service)
            return service.routes

        nlb = declared.nlb
        share = self.settings.server.nlb_max_removed_share
        if nlb.rules.max_removed_share is None and share is not None:  # the policy set's velocity control
            nlb = replace(nlb, rules=replace(nlb.rules, max_removed_share=share))
        stub = StubResolver(self.network, self.dns.settings.resolver, rng_for(f"{declared.name}-nlb-stub"), cache=True)
        ec2 = ServiceClient(
            self.network, stub, EC2_NAME, self.ec2.address[1], rng_for(f"{declared.name}-nlb"), timeout=5.0
        )
        return NetworkLoadBalancer(
            declared.name,
            declared_name(declared.name),
            nlb,
            self.network,
            self.events,
            self.dns.zone,
            ec2,
            self.ec2.netmgr,
            target,
            declared.port,
            first,
            rng_for(f"{declared.name}-checks"),
        )

    def _declared_clients(
        self, settings: DeclaredSettings, rng_for: Callable[[str], random.Random]
    ) -> dict[str, ServiceClient]:
        stub = StubResolver(self.network, self.dns.settings.resolver, rng_for(f"{settings.name}-stub"), cache=True)
        ports = {"dynamodb": (REGIONAL, self.settings.dynamodb_port)}
        if self.settings.ec2 is not None:
            ports["ec2"] = (EC2_NAME, self.settings.ec2.port)
        if self.settings.lambda_ is not None:
            ports["lambda"] = (LAMBDA_NAME, self.settings.lambda_.port)
        ports |= {d.name: (declared_name(d.name), d.port) for d in self.settings.services}
        wanted = sorted({c.service for calls in settings.operations.values() for c in calls} | {"dynamodb"})
        clients = {
            service: ServiceClient(
                self.network,
                stub,
                *ports[service],
                rng_for(f"{settings.name}-{service}"),
                timeout=2.0,
                policy=self.client_policy(f"{settings.name}-{service}"),
            )
            for service in wanted
        }
        return clients

    def listeners(self) -> list[Listener]:
        settings = self.dns.settings
        return [
            Listener("DNS authority (cloud.test)", "udp", settings.authority),
            Listener("shared resolver", "udp", settings.resolver),
            *(Listener(f"DynamoDB {r.name}", "http", self.router_addresses[i]) for i, r in enumerate(self.routers)),
            *(Listener(f"  its app, behind {f.name}", "http", f.upstream) for f in self.fronts),
            *([Listener("EC2 API (ec2.us-east-1.cloud.test)", "http", self.ec2.address)] if self.ec2 else []),
            *([Listener("Lambda (lambda.us-east-1.cloud.test)", "http", self.lambda_.address)] if self.lambda_ else []),
            *(Listener(f"{n.name} ({declared_name(n.name)})", "http", n.address) for n in self.declared_nodes),
        ]

    def outside_calls(self) -> dict[str, list[OutsideCalls]]:
        """Each service's counters of calls from outside the cloud (services/net/outside.py), by service."""
        found = {"dynamodb": [router.routes.outside for router in self.routers]}
        if self.ec2 is not None:
            found["ec2"] = [self.ec2.api.routes.outside]
        if self.lambda_ is not None:
            found["lambda"] = [self.lambda_.function.routes.outside]
        for d in self.declared:
            found.setdefault(d.name, []).append(d.routes.outside)
        return found

    def disable_nlb_failover(self) -> None:
        """The operators' action of 09:36 PDT: NLB nodes stay in DNS whatever their health checks say."""
        for nlb in self.nlbs:
            nlb.disable_failover()
        names = ", ".join(nlb.name for nlb in self.nlbs) or "none"
        self.events.emit(
            EventKind.OPERATOR_ACTION,
            "operator",
            f"disable_nlb_failover: every node and target of the NLBs ({names}) back in service, none taken out again",
            action=OperatorKind.DISABLE_NLB_FAILOVER,
        )

    def endpoints(self) -> dict[str, str]:
        """Each service's endpoint URL by its DNS name, keyed as the AWS SDKs name the service
        (`AWS_ENDPOINT_URL_<KEY>`)."""
        found = {"dynamodb": f"http://{REGIONAL}:{self.settings.dynamodb_port}"}
        if self.ec2 is not None:
            found["ec2"] = f"http://{EC2_NAME}:{self.ec2.address[1]}"
        if self.lambda_ is not None:
            found["lambda"] = f"http://{LAMBDA_NAME}:{self.lambda_.address[1]}"
        found |= {n.name: f"http://{declared_name(n.name)}:{n.address[1]}" for n in self.declared_nodes}
        found |= {b.name: f"http://{declared_name(b.name)}:{b.port}" for b in self.nlbs}
        return found

    def clients(self) -> list[ServiceClient]:
        """The clients the services call each other with (each holds a connection pool in live runs)."""
        found: list[ServiceClient] = []
        if self.ec2 is not None:
            found += [self.ec2.dynamodb, self.ec2.canary_client]
        if self.lambda_ is not None:
            found += [self.lambda_.function.dynamodb, self.lambda_.function.ec2, self.lambda_.invoke_client]
        found += self._declared_clients_made
        found += [nlb.ec2 for nlb in self.nlbs]
        return found

    async def run(self, *, task_status: TaskStatus[None] = runtime.TASK_STATUS_IGNORED) -> None:
        """Start every node, report `started` once all listen and DNS has a plan, then run until cancelled (its
        clients' connections closed on the way out)."""
        try:
            await self._run(task_status)
        finally:
            with runtime.CancelScope(shield=True):
                for client in self.clients():
                    await client.aclose()
                for nlb in self.nlbs:
                    await nlb.aclose()

    async def _run(self, task_status: TaskStatus[None]) -> None:
        async with runtime.create_task_group() as tg:
            for node in self.router_nodes:
                await tg.start(node.run)
            for front in self.fronts:
                await tg.start(front.run)
            await tg.start(self.dns.run)
            if self.ec2 is not None:
                self.dns.zone.change(
                    [Change(Action.UPSERT, RecordSet(EC2_NAME, (WeightedAddress(self.ec2.address[0]),), 60))]
                )
                await tg.start(self.ec2.run)
            if self.lambda_ is not None:
                self.dns.zone.change(
                    [Change(Action.UPSERT, RecordSet(LAMBDA_NAME, (WeightedAddress(self.lambda_.address[0]),), 60))]
                )
                await tg.start(self.lambda_.run)
            for node in self.declared_nodes:
                record = RecordSet(declared_name(node.name), (WeightedAddress(node.address[0]),), 60)
                self.dns.zone.change([Change(Action.UPSERT, record)])
                await tg.start(node.run)
            for nlb in self.nlbs:
                await tg.start(nlb.run)
            for service in {d.name: d for d in self.declared}.values():  # one set-up per service (its tables)
                tg.start_soon(service.set_up)
            task_status.started()

    def nodes(self) -> dict[str, Killable]:
        """The nodes a fault can kill, by name: router-1..N, ec2-api, netmgr, lambda."""
        nodes: dict[str, Killable] = {node.name: node for node in self.router_nodes}
        # nginx-N is router N's load balancer: a real nginx, or in the built-in model the router's own node.
        fronts: list[Killable] = list(self.fronts) or list(self.router_nodes)
        nodes |= {f"nginx-{i}": front for i, front in enumerate(fronts, start=1)}
        if self.ec2 is not None:
            nodes |= {"ec2-api": self.ec2.api_node, "netmgr": self.ec2.netmgr}
        if self.lambda_ is not None:
            nodes["lambda"] = self.lambda_.node
        nodes |= {node.name: node for node in self.declared_nodes}
        nodes |= {t.name: t.node for nlb in self.nlbs for t in nlb.targets}
        nodes |= {node.name: node for nlb in self.nlbs for node in nlb.nodes}
        return nodes
