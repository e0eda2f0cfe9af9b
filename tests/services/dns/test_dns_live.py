"""The authority and the shared resolver on real UDP survive a thousand malformed datagrams each."""

from __future__ import annotations

import random
import socket

import dns.message
import dns.rcode
import pytest
import trio
import trio.lowlevel

from services.dns.authority import Authority
from services.dns.cache import ResolverCache
from services.dns.resolver import SharedResolver
from services.dns.zone import Action, Change, RecordSet, WeightedAddress, Zone
from services.net.network import Address, LiveNetwork

NAME = "dynamodb.us-east-1.cloud.test"


def malformed(rng: random.Random, valid: bytes) -> bytes:
    """One broken datagram: random bytes, a truncation, bit flips, or lying section counts of a valid query."""
    choice = rng.randrange(5)
    if choice == 0:
        return rng.randbytes(rng.randrange(0, 120))
    if choice == 1:
        return valid[: rng.randrange(0, len(valid))]
    if choice == 2:
        wire = bytearray(valid)
        for _ in range(rng.randrange(1, 6)):
            wire[rng.randrange(len(wire))] ^= 1 << rng.randrange(8)
        return bytes(wire)
    if choice == 3:
        wire = bytearray(valid)
        wire[4:12] = rng.randbytes(8)  # QDCOUNT/ANCOUNT/NSCOUNT/ARCOUNT that do not match the body
        return bytes(wire)
    return valid[:12] + b"\xc0\x0c" * rng.randrange(1, 30)  # compression pointers that point at themselves


async def blast(address: Address, rng: random.Random, count: int) -> None:
    valid = dns.message.make_query(NAME, "A").to_wire()
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sock:
        await sock.bind(("127.0.0.1", 0))
        for _ in range(count):
            await sock.sendto(malformed(rng, valid), address)
            await trio.lowlevel.checkpoint()


async def ask(address: Address) -> dns.message.Message:
    query = dns.message.make_query(NAME, "A")
    reply = await LiveNetwork().udp_exchange(address, query.to_wire(), 2.0)
    return dns.message.from_wire(reply)


@pytest.mark.live
async def test_a_thousand_malformed_datagrams_crash_neither_server() -> None:
    """1,000 junk datagrams to each server; both still answer a valid query (and count the junk)."""
    network = LiveNetwork()
    zone = Zone()
    zone.change([Change(Action.UPSERT, RecordSet(NAME, (WeightedAddress("127.0.1.1"),), 5, 1))])
    authority = Authority(zone, random.Random(1))
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            authority_address = await nursery.start(authority.serve, network, ("127.0.9.11", 0))
            resolver = SharedResolver(network, authority_address, ResolverCache(), random.Random(2))
            resolver_address = await nursery.start(resolver.serve, ("127.0.9.12", 0))
            rng = random.Random(20251019)
            await blast(authority_address, rng, 1000)
            await blast(resolver_address, rng, 1000)
            for address in (authority_address, resolver_address):
                reply = await ask(address)
                assert reply.rcode() == dns.rcode.NOERROR
                assert [rd.address for rd in reply.answer[0]] == ["127.0.1.1"]
            assert authority.malformed > 500 and resolver.stats.malformed > 500
            nursery.cancel_scope.cancel()
