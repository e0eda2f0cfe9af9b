"""The shared caching resolver that every service and client queries, over UDP.

It forwards misses to the authority, caches by the rules in `services.dns.cache`, and coalesces concurrent misses
for the same name into one upstream query, as real recursive resolvers do. When the authority fails (timeout,
SERVFAIL, unreachable) it serves stale data if allowed, and SERVFAIL otherwise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import dns.exception
import dns.message
import dns.rcode

from services import runtime
from services.dns.cache import Cached, CachedAnswer, Key, ResolverCache
from services.dns.stub import MEMO_SIZE
from services.dns.wire import Query, copy_rrset, parse_query, respond, to_wire
from services.errors import NodeUnreachable
from services.net.network import Address, Network
from services.runtime import TaskStatus


@dataclass
class ResolverStats:
    queries: int = 0
    malformed: int = 0
    hits: int = 0
    misses: int = 0
    coalesced: int = 0
    stale_served: int = 0
    servfail: int = 0


@dataclass
class _Pending:
    done: runtime.Event = field(default_factory=runtime.Event)
    result: Cached | None = None


class SharedResolver:
    """A caching forwarder to one authority."""

    def __init__(
        self,
        network: Network,
        authority: Address,
        cache: ResolverCache,
        rng: random.Random,
        *,
        upstream_timeout: float = 1.0,
    ) -> None:
        self._network = network
        self._authority = authority
        self.cache = cache
        self._rng = rng
        self._upstream_timeout = upstream_timeout
        self._pending: dict[Key, _Pending] = {}
        self.stats = ResolverStats()
        self._queries: dict[bytes, Query] = {}  # a query's wire form after its id, read
        self._replies: dict[tuple[bytes, int, int], tuple[CachedAnswer, bytes]] = {}  # and the reply, after its id

    async def answer(self, wire: bytes) -> bytes | None:
        self.stats.queries += 1
        # A query's wire form after its id reads the same every time, and so does the reply to it from the same
        # cached answer and TTL: both are kept (MEMO_SIZE at most) and the reply takes this query's id.
        rest = wire[2:]
        parsed = self._queries.get(rest)
        if parsed is None:
            found = parse_query(wire)
            if not isinstance(found, Query):
                self.stats.malformed += 1
                return found
            parsed = found
            if len(self._queries) >= MEMO_SIZE:
                self._queries.clear()
            self._queries[rest] = parsed
        key = (parsed.qname, parsed.rdtype)
        now = runtime.current_time()
        cached = self.cache.fresh(key, now)
        if cached is not None:
            self.stats.hits += 1
        else:
            cached = await self._resolve(key, parsed)
        if cached is None:  # SERVFAIL
            return wire[:2] + to_wire(self._render(parsed, None))[2:]
        memo = (rest, id(cached.answer), cached.ttl)
        kept = self._replies.get(memo)
        if kept is None or kept[0] is not cached.answer:
            if len(self._replies) >= MEMO_SIZE:
                self._replies.clear()
            kept = self._replies[memo] = (cached.answer, to_wire(self._render(parsed, cached))[2:])
        return wire[:2] + kept[1]

    async def _resolve(self, key: Key, query: Query) -> Cached | None:
        pending = self._pending.get(key)
        if pending is not None:
            self.stats.coalesced += 1
            await pending.done.wait()
            return pending.result
        self.stats.misses += 1
        pending = self._pending[key] = _Pending()
        try:
            answer = await self._ask_authority(query)
            now = runtime.current_time()
            if answer is not None:
                pending.result = self.cache.store(key, answer, now)
            else:
                pending.result = self.cache.stale(key, now)
                if pending.result is not None:
                    self.stats.stale_served += 1
            return pending.result
        finally:
            del self._pending[key]
            pending.done.set()

    async def _ask_authority(self, query: Query) -> CachedAnswer | None:
        """The authority's answer, or None when it failed to give a usable one."""
        upstream = dns.message.make_query(query.message.question[0].name, query.rdtype)
        upstream.id = self._rng.randrange(1 << 16)
        upstream.flags = 0  # no RD: we ask the authority, not another recursor
        try:
            wire = await self._network.udp_exchange(self._authority, upstream.to_wire(), self._upstream_timeout)
            reply = dns.message.from_wire(wire)
        except (TimeoutError, NodeUnreachable, OSError, dns.exception.DNSException):
            return None
        if reply.id != upstream.id or reply.question != upstream.question:
            return None
        if reply.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return None
        return CachedAnswer(reply.rcode(), tuple(reply.answer), tuple(reply.authority))

    def _render(self, query: Query, cached: Cached | None) -> dns.message.Message:
        if cached is None:
            self.stats.servfail += 1
            return respond(query, dns.rcode.SERVFAIL, authoritative=False, recursion_available=True)
        response = respond(query, cached.answer.rcode, authoritative=False, recursion_available=True)
        response.answer = [copy_rrset(r, min(r.ttl, cached.ttl)) for r in cached.answer.answer]
        response.authority = [copy_rrset(r, min(r.ttl, cached.ttl)) for r in cached.answer.authority]
        return response

    async def serve(self, address: Address, *, task_status: TaskStatus[Address] = runtime.TASK_STATUS_IGNORED) -> None:
        async def handle(wire: bytes, peer: Address) -> bytes | None:
            return await self.answer(wire)

        await self._network.serve_udp(handle, address, task_status=task_status)
