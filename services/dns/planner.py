"""The DNS Planner (name from AWS's 2025-10-19/20 summary).

Every `plan_interval` it health-checks the DynamoDB routers (the "load balancers") over HTTP and publishes plan
generation N+1: for each endpoint (regional, ipv6, fips) the healthy routers' addresses and weights. If no router
passes, it fails open and keeps them all, as Route 53 does when every health check fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx

from services import runtime
from services.dns.plans import Plan, PlanStore
from services.dns.zone import WeightedAddress
from services.event_kinds import EventKind
from services.events import EventLog
from services.net.network import Address, Network


@dataclass(frozen=True)
class RouterTarget:
    """A DynamoDB router the Planner watches."""

    name: str
    address: Address


class HealthProbe(Protocol):
    async def __call__(self, routers: Sequence[RouterTarget]) -> dict[str, int]:
        """The healthy routers by name, with their weights."""
        ...


class HttpHealthProbe:
    """`GET /health` on each router at once; healthy means 200 with `{"status": "ok"}` in time."""

    def __init__(self, network: Network, timeout: float) -> None:
        self._client = network.http_client(timeout=timeout, max_connections=8)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __call__(self, routers: Sequence[RouterTarget]) -> dict[str, int]:
        healthy: dict[str, int] = {}

        async def check(router: RouterTarget) -> None:
            host, port = router.address
            try:
                response = await self._client.get(f"http://{host}:{port}/health")
                body = response.json()
            except (httpx.HTTPError, ValueError):
                return
            if response.status_code == 200 and isinstance(body, dict) and body.get("status") == "ok":
                weight = body.get("weight", 1)
                healthy[router.name] = weight if isinstance(weight, int) and 0 <= weight <= 255 else 1

        async with runtime.create_task_group() as tg:
            for router in routers:
                tg.start_soon(check, router)
        return healthy


class Planner:
    """Publishes a new plan generation every `plan_interval` seconds (faults may change the interval)."""

    def __init__(
        self,
        store: PlanStore,
        endpoints: Sequence[str],
        routers: Sequence[RouterTarget],
        probe: HealthProbe,
        events: EventLog,
        *,
        plan_interval: float,
    ) -> None:
        self.store = store
        self.endpoints = tuple(endpoints)
        self.routers = tuple(routers)
        self.probe = probe
        self.events = events
        self.plan_interval = plan_interval

    def set_plan_interval(self, seconds: float) -> None:
        """Publish a plan every `seconds` from the next one on."""
        if not seconds > 0:
            raise ValueError(f"plan_interval = {seconds}: must be greater than 0")
        self.plan_interval = seconds

    async def publish_once(self) -> Plan:
        healthy = await self.probe(self.routers)
        chosen = [r for r in self.routers if r.name in healthy]
        if not chosen:
            chosen = list(self.routers)
            self.events.emit(
                EventKind.PLANNER_FAIL_OPEN, "planner", "no router passed its health check; keeping them all"
            )
        addresses = tuple(WeightedAddress(r.address[0], healthy.get(r.name, 1)) for r in chosen)
        plan = self.store.publish({endpoint: addresses for endpoint in self.endpoints}, self.events.now())
        self.events.emit(
            EventKind.PLAN_PUBLISHED,
            "planner",
            f"plan {plan.generation} published ({len(healthy)}/{len(self.routers)} routers healthy)",
            generation=plan.generation,
            routers=[r.name for r in chosen],
        )
        return plan

    async def run(self) -> None:
        while True:
            await self.publish_once()
            await runtime.sleep(self.plan_interval)
