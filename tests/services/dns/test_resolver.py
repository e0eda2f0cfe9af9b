"""The shared resolver in virtual time: TTLs, negative caching, serve-stale, last-known-good, coalescing."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import trio
import trio.testing

from services import runtime
from services.dns.authority import Authority
from services.dns.cache import ResolverCache
from services.dns.resolver import SharedResolver
from services.dns.stub import StubResolver
from services.dns.zone import Action, Change, RecordSet, WeightedAddress, Zone
from services.errors import NameNotFound, NoAnswer, ResolverUnavailable
from services.net.network import Address
from services.net.virtual_network import VirtualNetwork

NAME = "dynamodb.us-east-1.cloud.test"
AUTHORITY = ("127.0.0.1", 5300)
RESOLVER = ("127.0.0.1", 5301)
ROUTERS = (WeightedAddress("127.0.1.1"), WeightedAddress("127.0.1.2"))


@dataclass
class Dns:
    zone: Zone
    authority: Authority
    resolver: SharedResolver
    stub: StubResolver
    stop_authority: trio.CancelScope

    def set_record(self, addresses: tuple[WeightedAddress, ...], ttl: int = 5) -> None:
        self.zone.change([Change(Action.UPSERT, RecordSet(NAME, addresses, ttl, 1))])


@asynccontextmanager
async def dns_plane(*, serve_stale: bool = False, last_known_good: bool = False) -> AsyncIterator[Dns]:
    network = VirtualNetwork()
    zone = Zone(negative_ttl=5)
    authority = Authority(zone, random.Random(1))
    cache = ResolverCache(serve_stale=serve_stale, last_known_good=last_known_good)
    resolver = SharedResolver(network, AUTHORITY, cache, random.Random(2))
    async with trio.open_nursery() as nursery:
        stop_authority = trio.CancelScope()

        async def run_authority(task_status: runtime.TaskStatus[Address] = runtime.TASK_STATUS_IGNORED) -> None:
            with stop_authority:
                await authority.serve(network, AUTHORITY, task_status=task_status)

        await nursery.start(run_authority)
        await nursery.start(resolver.serve, RESOLVER)
        stub = StubResolver(network, RESOLVER, random.Random(3), timeout=2.0)
        yield Dns(zone, authority, resolver, stub, stop_authority)
        nursery.cancel_scope.cancel()


async def test_answers_are_cached_for_their_ttl_and_then_asked_again(autojump_clock: trio.testing.MockClock) -> None:
    """Within the TTL the authority is not asked again; after it, it is, and the TTL counts down meanwhile."""
    async with dns_plane() as d:
        d.set_record(ROUTERS, ttl=5)
        assert sorted(await d.stub.resolve(NAME)) == ["127.0.1.1", "127.0.1.2"]
        await trio.sleep(4)
        await d.stub.resolve(NAME)
        assert d.authority.queries == 1 and d.resolver.stats.hits == 1
        await trio.sleep(1.5)
        await d.stub.resolve(NAME)
        assert d.authority.queries == 2


async def test_nodata_and_nxdomain_are_cached_for_the_soa_negative_ttl(autojump_clock: trio.testing.MockClock) -> None:
    """RFC 2308: an empty answer is remembered for min(SOA TTL, MINIMUM) = 5 s, even after the record fills."""
    async with dns_plane() as d:
        d.set_record(())
        with pytest.raises(NoAnswer):
            await d.stub.resolve(NAME)
        with pytest.raises(NameNotFound):
            await d.stub.resolve("missing.cloud.test")
        d.set_record(ROUTERS)
        await trio.sleep(4)
        with pytest.raises(NoAnswer):
            await d.stub.resolve(NAME)
        assert d.authority.queries == 2
        await trio.sleep(1.5)
        assert len(await d.stub.resolve(NAME)) == 2


async def test_serve_stale_answers_from_expired_cache_when_the_authority_is_gone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """RFC 8767: with serve-stale, an expired answer comes back with TTL 30 when the authority cannot answer."""
    async with dns_plane(serve_stale=True) as d:
        d.set_record(ROUTERS)
        await d.stub.resolve(NAME)
        d.stop_authority.cancel()
        await trio.sleep(60)
        assert len(await d.stub.resolve(NAME)) == 2
        assert d.resolver.stats.stale_served == 1
        fresh = d.resolver.cache.stale((NAME, 1), trio.current_time())
        assert fresh is not None and fresh.ttl == 30


async def test_without_serve_stale_a_dead_authority_means_servfail(autojump_clock: trio.testing.MockClock) -> None:
    """Without serve-stale, an expired answer is not reused: the stub sees SERVFAIL."""
    async with dns_plane() as d:
        d.set_record(ROUTERS)
        await d.stub.resolve(NAME)
        d.stop_authority.cancel()
        await trio.sleep(60)
        with pytest.raises(ResolverUnavailable, match="SERVFAIL"):
            await d.stub.resolve(NAME)


@pytest.mark.parametrize("last_known_good", [True, False])
async def test_last_known_good_keeps_addresses_when_the_record_empties(
    autojump_clock: trio.testing.MockClock, last_known_good: bool
) -> None:
    """With last-known-good, an empty fresh answer is replaced by the last addresses; without it, NODATA."""
    async with dns_plane(last_known_good=last_known_good) as d:
        d.set_record(ROUTERS)
        await d.stub.resolve(NAME)
        d.set_record(())
        await trio.sleep(6)
        if last_known_good:
            assert len(await d.stub.resolve(NAME)) == 2
            assert d.resolver.cache.kept_last_known_good == 1
        else:
            with pytest.raises(NoAnswer):
                await d.stub.resolve(NAME)
        assert d.authority.queries == 2


async def test_concurrent_misses_for_one_name_make_one_upstream_query(autojump_clock: trio.testing.MockClock) -> None:
    """Fifty clients asking at once on a cold cache cost the authority one query."""
    async with dns_plane() as d:
        d.set_record(ROUTERS)
        results: list[list[str]] = []

        async def ask() -> None:
            results.append(await d.stub.resolve(NAME))

        async with trio.open_nursery() as nursery:
            for _ in range(50):
                nursery.start_soon(ask)
        assert len(results) == 50 and d.authority.queries == 1
        assert d.resolver.stats.coalesced == 49


async def test_a_caching_stub_keeps_answers_for_their_ttl_and_nodata_for_the_negative_ttl(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """With cache=True the stub asks again only once the answer's TTL (or the SOA's negative TTL) has run out."""
    network = VirtualNetwork()
    zone = Zone(negative_ttl=5)
    zone.change([Change(Action.UPSERT, RecordSet(NAME, (WeightedAddress("127.0.1.1"),), 5, 1))])
    asked = []

    async with trio.open_nursery() as nursery:
        authority = Authority(zone, random.Random(1))

        async def counting(payload: bytes, sender: tuple[str, int]) -> bytes | None:
            asked.append(trio.current_time())
            return authority.answer(payload)

        await nursery.start(network.serve_udp, counting, RESOLVER)
        stub = StubResolver(network, RESOLVER, random.Random(3), cache=True)
        assert await stub.resolve(NAME) == ["127.0.1.1"]
        await trio.sleep(4)
        assert await stub.resolve(NAME) == ["127.0.1.1"] and len(asked) == 1
        zone.change([Change(Action.UPSERT, RecordSet(NAME, (), 5, 2))])
        await trio.sleep(1.5)
        with pytest.raises(NoAnswer):
            await stub.resolve(NAME)
        assert len(asked) == 2
        await trio.sleep(4)
        with pytest.raises(NoAnswer):
            await stub.resolve(NAME)
        assert len(asked) == 2  # NODATA kept for the negative TTL
        await trio.sleep(1.5)
        with pytest.raises(NoAnswer):
            await stub.resolve(NAME)
        assert len(asked) == 3
        nursery.cancel_scope.cancel()
