"""The internal client in virtual time: DNS name to address, Host and x-deadline headers, retries by policy."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import trio
import trio.testing

from services.client.service_client import ServiceClient
from services.dns.authority import Authority
from services.dns.cache import ResolverCache
from services.dns.resolver import SharedResolver
from services.dns.stub import StubResolver
from services.dns.zone import Action, Change, RecordSet, WeightedAddress, Zone
from services.dynamodb import Router
from services.errors import CallFailed
from services.net.http import HttpRequest, HttpResponse, Routes, json_response
from services.net.virtual_network import VirtualNetwork
from services.node.capacity import CapacitySpec, ServiceTime
from services.throttling.backoff import FixedDelay

NAME = "dynamodb.us-east-1.cloud.test"


def echo(me: str) -> Routes:
    """A node at `me` that answers with what a request carried and who answered it."""

    async def answer(request: HttpRequest) -> HttpResponse:
        return json_response(
            {"host": request.headers.get("host"), "deadline": request.headers.get("x-deadline"), "me": me}
        )

    return Routes([("GET", "/", answer)])


@dataclass
class World:
    network: VirtualNetwork
    zone: Zone
    stub: StubResolver
    nursery: trio.Nursery

    def point(self, *ips: str) -> None:
        self.zone.change([Change(Action.UPSERT, RecordSet(NAME, tuple(WeightedAddress(ip) for ip in ips), 5, 1))])

    def client(self, **kwargs: object) -> ServiceClient:
        return ServiceClient(self.network, self.stub, NAME, 8000, random.Random(3), **kwargs)  # type: ignore[arg-type]


@asynccontextmanager
async def world() -> AsyncIterator[World]:
    network = VirtualNetwork()
    zone = Zone()
    async with trio.open_nursery() as nursery:
        await nursery.start(Authority(zone, random.Random(1)).serve, network, ("127.0.0.1", 5300))
        resolver = SharedResolver(network, ("127.0.0.1", 5300), ResolverCache(), random.Random(2))
        await nursery.start(resolver.serve, ("127.0.0.1", 5301))
        yield World(network, zone, StubResolver(network, ("127.0.0.1", 5301), random.Random(4)), nursery)
        nursery.cancel_scope.cancel()


async def test_calls_resolve_the_name_and_carry_host_and_deadline(autojump_clock: trio.testing.MockClock) -> None:
    """Each call goes to one of the resolved addresses, with Host = the logical name and x-deadline set."""
    async with world() as w:
        for ip in ("127.0.1.1", "127.0.1.2"):
            await w.nursery.start(w.network.serve_http, echo(ip), (ip, 8000))
        w.point("127.0.1.1", "127.0.1.2")
        client = w.client()
        seen = set()
        for _ in range(20):
            body = (await client.request("GET", "/", deadline=trio.current_time() + 2)).json()
            assert body["host"] == NAME and float(body["deadline"]) > trio.current_time()
            seen.add(body["me"])
        assert seen == {"127.0.1.1", "127.0.1.2"}
        await client.aclose()


async def test_an_empty_record_fails_the_call_with_the_dns_reason(autojump_clock: trio.testing.MockClock) -> None:
    """NODATA for the downstream's name is a CallFailed that says DNS, not a hang or a crash."""
    async with world() as w:
        w.point()
        with pytest.raises(CallFailed, match="DNS"):
            await w.client().request("GET", "/")


async def test_the_policy_sees_each_outcome_and_decides_retries(autojump_clock: trio.testing.MockClock) -> None:
    """Against one worker with no queue, throttled attempts are retried as the policy says, and all calls succeed."""
    async with world() as w:
        router = Router(
            "router-1", spec=CapacitySpec(workers=1, service_time=ServiceTime("constant", 0.02), queue_limit=0)
        )
        await w.nursery.start(w.network.serve_http, router.routes, ("127.0.1.1", 8000))
        w.point("127.0.1.1")
        client = w.client(policy=FixedDelay(wait=0.05, max_attempts=5))
        headers = {"x-amz-target": "DynamoDB_20120810.ListTables", "content-type": "application/x-amz-json-1.0"}
        statuses: list[int] = []

        async def call() -> None:
            statuses.append(
                (await client.request("POST", "/", headers=headers, content=json.dumps({}).encode())).status_code
            )

        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(call)
        assert statuses == [200, 200, 200]
        assert client.attempts > 3
        assert router.capacity.stats.totals["rejected"] == client.attempts - 3


async def test_deadlines_reach_the_router_and_late_work_is_counted_wasted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A call whose deadline is shorter than the queue wait times out at the client and is wasted at the router."""
    async with world() as w:
        router = Router(
            "router-1", spec=CapacitySpec(workers=1, service_time=ServiceTime("constant", 0.5), queue_limit=10)
        )
        await w.nursery.start(w.network.serve_http, router.routes, ("127.0.1.1", 8000))
        w.point("127.0.1.1")
        client = w.client()
        headers = {"x-amz-target": "DynamoDB_20120810.ListTables", "content-type": "application/x-amz-json-1.0"}
        failures: list[str] = []

        async def call() -> None:
            try:
                await client.request("POST", "/", headers=headers, content=b"{}", deadline=trio.current_time() + 0.7)
            except CallFailed as exc:
                failures.append(exc.reason)

        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(call)
        await trio.sleep(2)
        assert len(failures) == 2 and all("timed out" in f for f in failures)
        assert router.capacity.stats.totals["wasted"] == 2 and router.capacity.stats.totals["expired"] == 1
