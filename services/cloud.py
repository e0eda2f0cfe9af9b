"""Builds the simulated cloud from a scenario and runs it, on a live or a virtual Network.

Addresses (live mode): DNS authority and shared resolver on 127.0.0.1 (UDP ports from the scenario), DynamoDB
routers on 127.0.1.1..N port 8000.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from anyio.abc import TaskStatus

from scenarios.schema import CapacityConfig, Scenario
from services.capacity import CapacitySpec, ServiceTime
from services.dns import DnsControlPlane, DnsSettings, EnactorTiming, RouterTarget, Variant
from services.dns.planner import HealthProbe
from services.dynamodb import Router
from services.dynamodb.tables import Storage
from services.events import EventLog
from services.net import Address, Network

DNS_HOST = "127.0.0.1"


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
        self.storage = Storage()
        spec = capacity_spec(scenario.dynamodb.capacity)
        self.routers = [
            Router(f"router-{i}", self.storage, spec, rng_for(f"router-{i}"))
            for i in range(1, scenario.dynamodb.routers + 1)
        ]
        self.router_addresses = [router_address(i, scenario.dynamodb.port) for i in range(1, len(self.routers) + 1)]
        targets = [RouterTarget(r.name, a) for r, a in zip(self.routers, self.router_addresses, strict=True)]
        self.dns = DnsControlPlane(network, events, dns_settings(scenario), targets, rng_for, probe)
        self._task_group: anyio.abc.TaskGroup | None = None
        self._router_scopes: dict[int, anyio.CancelScope] = {}

    def listeners(self) -> list[Listener]:
        settings = self.dns.settings
        return [
            Listener("DNS authority (cloud.test)", "udp", settings.authority),
            Listener("shared resolver", "udp", settings.resolver),
            *(Listener(f"DynamoDB {r.name}", "http", self.router_addresses[i]) for i, r in enumerate(self.routers)),
        ]

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start every node, report `started` once all listen and DNS has a plan, then run until cancelled."""
        async with anyio.create_task_group() as tg:
            self._task_group = tg
            for index in range(len(self.routers)):
                await tg.start(self._serve_router, index)
            await tg.start(self.dns.run)
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


def dns_settings(scenario: Scenario) -> DnsSettings:
    dns, enactors = scenario.dns, scenario.enactors
    return DnsSettings(
        ttl=dns.ttl,
        negative_ttl=dns.negative_ttl,
        authority=(DNS_HOST, dns.authority_port),
        resolver=(DNS_HOST, dns.resolver_port),
        serve_stale=dns.serve_stale,
        last_known_good=dns.last_known_good,
        plan_interval=scenario.planner.plan_interval,
        health_timeout=scenario.planner.health_timeout,
        variant=Variant(enactors.variant),
        timing=EnactorTiming(enactors.poll_interval, enactors.transaction_time, enactors.lock_retry),
        cleanup_age=enactors.cleanup_age,
    )


def capacity_spec(config: CapacityConfig) -> CapacitySpec:
    st = config.service_time
    return CapacitySpec(config.workers, ServiceTime(st.kind, st.mean, st.p99), config.queue_limit, config.drop_expired)
