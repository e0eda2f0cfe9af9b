"""Builds the simulated cloud from a scenario and runs it, on a live or a virtual Network.

Addresses (live mode): DNS authority and shared resolver on 127.0.0.1 (UDP ports from the scenario), DynamoDB
routers on 127.0.1.1..N port 8000.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import anyio
from anyio.abc import TaskStatus

from scenarios.policies import PolicySet, client_policy, load_policy_set, policy_path, server_policy
from scenarios.schema import CapacityConfig, Scenario
from services.capacity import CapacitySpec, ServiceTime
from services.client import ServiceClient
from services.dns import (
    REGIONAL,
    Action,
    Change,
    DnsControlPlane,
    DnsSettings,
    EnactorTiming,
    RecordSet,
    RouterTarget,
    Variant,
    WeightedAddress,
)
from services.dns.planner import HealthProbe
from services.dns.stub import StubResolver
from services.dynamodb import Router
from services.dynamodb.tables import Storage
from services.ec2.dwfm import DwfmSettings
from services.ec2.service import EC2_NAME, Ec2Service
from services.events import EventLog
from services.lambda_ import LAMBDA_NAME, LambdaSettings, LambdaStack
from services.net import Address, Network

DNS_HOST = "127.0.0.1"
EC2_HOST = "127.0.2.1"
LAMBDA_HOST = "127.0.3.1"


def router_address(index: int, port: int) -> Address:
    """Router `index` (1-based) listens on 127.0.1.<index>."""
    return (f"127.0.1.{index}", port)


def rng_factory(seed: int) -> Callable[[str], random.Random]:
    """A separate, reproducible random stream per component, derived from the scenario seed."""
    return lambda component: random.Random(f"{seed}:{component}")


@dataclass(frozen=True)
class Listener:
    role: str
    protocol: str
    address: Address


class Cloud:
    def __init__(
        self, scenario: Scenario, network: Network, events: EventLog, *, probe: HealthProbe | None = None
    ) -> None:
        self.scenario = scenario
        self.network = network
        self.events = events
        rng_for = rng_factory(scenario.seed)
        self.policy = load_policy_set(policy_path(scenario.policy))
        self.storage = Storage()
        self.routers = [self._router(i, rng_for) for i in range(1, scenario.dynamodb.routers + 1)]
        self.router_addresses = [router_address(i, scenario.dynamodb.port) for i in range(1, len(self.routers) + 1)]
        targets = [RouterTarget(r.name, a) for r, a in zip(self.routers, self.router_addresses, strict=True)]
        self.dns = DnsControlPlane(network, events, dns_settings(scenario, self.policy), targets, rng_for, probe)
        self.ec2 = self._ec2(rng_for) if scenario.ec2 is not None else None
        self.lambda_ = self._lambda(rng_for) if scenario.lambda_ is not None else None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._router_scopes: dict[int, anyio.CancelScope] = {}

    def _router(self, index: int, rng_for: Callable[[str], random.Random]) -> Router:
        server = server_policy(self.policy)
        spec = replace(capacity_spec(self.scenario.dynamodb.capacity), drop_expired=server.drop_expired)
        name = f"router-{index}"
        return Router(name, self.storage, spec, rng_for(name), admission=server.admission, discipline=server.discipline)

    def _ec2(self, rng_for: Callable[[str], random.Random]) -> Ec2Service:
        config = self.scenario.ec2
        if config is None:
            raise ValueError("no [ec2] section")
        settings = DwfmSettings(
            droplets=config.droplets,
            workers=config.dwfm_workers,
            work_time=config.dwfm_work_time,
            lease_duration=config.lease_duration,
            renew_margin=config.renew_margin,
            item_timeout=config.item_timeout,
            scan_interval=config.scan_interval,
            bootstrap_rate=config.bootstrap_rate,
        )
        stub = StubResolver(self.network, self.dns.settings.resolver, rng_for("ec2-stub"), cache=True)

        def server() -> tuple[Any, Any, bool]:
            policy = server_policy(self.policy)
            return policy.admission, policy.discipline, policy.drop_expired

        return Ec2Service(
            self.network,
            stub,
            self.events,
            settings,
            address=(EC2_HOST, config.port),
            dynamodb_name=REGIONAL,
            dynamodb_port=self.scenario.dynamodb.port,
            api_spec=CapacitySpec(workers=64, queue_limit=1024),
            slots_per_droplet=config.slots_per_droplet,
            canary_interval=config.canary_interval,
            rng_for=rng_for,
            client_policy=lambda who: client_policy(self.policy, rng_for(f"{who}-policy")),
            server_policy=server,
        )

    def _lambda(self, rng_for: Callable[[str], random.Random]) -> LambdaStack:
        config, ec2 = self.scenario.lambda_, self.scenario.ec2
        if config is None or ec2 is None:
            raise ValueError("[lambda] needs [ec2]")
        stub = StubResolver(self.network, self.dns.settings.resolver, rng_for("lambda-stub"), cache=True)

        def client(name: str, port: int, who: str) -> ServiceClient:
            policy = client_policy(self.policy, rng_for(f"{who}-policy"))
            return ServiceClient(self.network, stub, name, port, rng_for(who), timeout=2.0, policy=policy)

        settings = LambdaSettings(
            sandboxes=config.sandboxes, max_sandboxes=config.max_sandboxes, config_ttl=config.config_ttl
        )
        return LambdaStack(
            self.network,
            self.events,
            settings,
            address=(LAMBDA_HOST, config.port),
            dynamodb=client(REGIONAL, self.scenario.dynamodb.port, "lambda-dynamodb"),
            ec2=client(EC2_NAME, ec2.port, "lambda-ec2"),
            invoke_client=ServiceClient(
                self.network, stub, LAMBDA_NAME, config.port, rng_for("lambda-canary"), timeout=5.0
            ),
            rng_for=rng_for,
            supervised=config.poller_supervised,
        )

    def listeners(self) -> list[Listener]:
        settings = self.dns.settings
        return [
            Listener("DNS authority (cloud.test)", "udp", settings.authority),
            Listener("shared resolver", "udp", settings.resolver),
            *(Listener(f"DynamoDB {r.name}", "http", self.router_addresses[i]) for i, r in enumerate(self.routers)),
            *([Listener("EC2 API (ec2.us-east-1.cloud.test)", "http", self.ec2.address)] if self.ec2 else []),
            *([Listener("Lambda (lambda.us-east-1.cloud.test)", "http", self.lambda_.address)] if self.lambda_ else []),
        ]

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start every node, report `started` once all listen and DNS has a plan, then run until cancelled."""
        async with anyio.create_task_group() as tg:
            self._task_group = tg
            for index in range(len(self.routers)):
                await tg.start(self._serve_router, index)
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
            task_status.started()

    async def _serve_router(self, index: int, *, task_status: TaskStatus[Address] = anyio.TASK_STATUS_IGNORED) -> None:
        with anyio.CancelScope() as scope:
            self._router_scopes[index] = scope
            await self.network.serve_http(
                self.routers[index].app, self.router_addresses[index], task_status=task_status
            )

    def stop_router(self, index: int) -> None:
        """Stop router `index` (0-based) the hard way: it stops listening, so connections are refused."""
        scope = self._router_scopes.pop(index, None)
        if scope is not None:
            scope.cancel()
            self.events.emit(
                "router_stopped", self.routers[index].name, f"{self.routers[index].name} stopped listening"
            )

    def start_router(self, index: int) -> None:
        if self._task_group is not None and index not in self._router_scopes:
            self._task_group.start_soon(self._serve_router, index)
            self.events.emit("router_started", self.routers[index].name, f"{self.routers[index].name} listening again")


def dns_settings(scenario: Scenario, policy: PolicySet) -> DnsSettings:
    dns, enactors = scenario.dns, scenario.enactors
    return DnsSettings(
        ttl=dns.ttl,
        negative_ttl=dns.negative_ttl,
        authority=(DNS_HOST, dns.authority_port),
        resolver=(DNS_HOST, dns.resolver_port),
        serve_stale=dns.serve_stale or policy.resolver.serve_stale,
        last_known_good=dns.last_known_good or policy.resolver.last_known_good,
        plan_interval=scenario.planner.plan_interval,
        health_timeout=scenario.planner.health_timeout,
        variant=Variant(enactors.variant),
        timing=EnactorTiming(enactors.poll_interval, enactors.transaction_time, enactors.lock_retry),
        cleanup_age=enactors.cleanup_age,
    )


def capacity_spec(config: CapacityConfig) -> CapacitySpec:
    st = config.service_time
    return CapacitySpec(config.workers, ServiceTime(st.kind, st.mean, st.p99), config.queue_limit, config.drop_expired)
