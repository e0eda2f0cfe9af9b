"""The stub client that services and clients use to ask the shared resolver for addresses.

The lookup itself is sans-I/O, written once: `lookup()` is a generator that yields each query datagram and is
resumed with the reply (None when none came in time), retrying a lost datagram like a libc stub
(RES_DFLRETRY = 2); `StubCache` keeps answers for their TTL, and NXDOMAIN/NODATA for the SOA's negative TTL
(RFC 2308), as a host's caching daemon (nscd, systemd-resolved) or an SDK's DNS cache keeps them. Two engines
drive it: `StubResolver` here (async, over the Network seam) and the Locust users' stub (gevent, a UDP socket).
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass, field
from functools import lru_cache

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from services import runtime
from services.errors import DnsError, NameNotFound, NoAnswer, NodeUnreachable, ResolverUnavailable
from services.net.network import Address, Network
from services.runtime.sansio import drive_async

Found = list[str] | DnsError


@dataclass(frozen=True)
class StubAnswer:
    """A lookup's result and how long it may be kept (None: not at all)."""

    found: Found
    ttl: float | None


# What dnspython makes of the same bytes is the same every time: a query's wire form after its id (2 bytes), and the
# answer read from a reply's wire form after its id, are kept and reused (a long run asks the same few names, and
# gets the same few replies, hundreds of thousands of times).
MEMO_SIZE = 4096


@lru_cache(maxsize=MEMO_SIZE)
def _query_rest(name: str) -> bytes:
    return dns.message.make_query(name, dns.rdatatype.A).to_wire()[2:]


@lru_cache(maxsize=MEMO_SIZE)
def _reading(name: str, rest: bytes) -> StubAnswer:
    """The answer in a reply, from its wire form after the id (an unreadable one raises, and is not kept)."""
    return _read(name, dns.message.from_wire(b"\0\0" + rest))


def lookup(name: str, rng: random.Random, *, attempts: int = 2) -> Generator[bytes, bytes | OSError | None, StubAnswer]:
    """Ask for `name`'s A records: yields each query's wire form, is sent back the reply (None: none in time; an
    OSError: the resolver cannot be reached at all)."""
    rest = _query_rest(name)
    problem = "no reply"
    for _ in range(attempts):
        query_id = rng.randrange(1 << 16).to_bytes(2, "big")
        wire = yield query_id + rest
        if isinstance(wire, OSError):
            return StubAnswer(ResolverUnavailable(name, str(wire)), None)
        if wire is None:
            problem = "no reply in time"
            continue
        try:
            answer = _reading(name, wire[2:])
        except dns.exception.DNSException as exc:
            problem = f"unreadable reply: {exc}"
            continue
        if wire[:2] != query_id:
            problem = "reply to another query"
            continue
        return answer
    return StubAnswer(ResolverUnavailable(name, problem), None)


def _read(name: str, reply: dns.message.Message) -> StubAnswer:
    rcode = reply.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return StubAnswer(NameNotFound(name, "NXDOMAIN"), _negative_ttl(reply))
    if rcode != dns.rcode.NOERROR:
        return StubAnswer(ResolverUnavailable(name, dns.rcode.to_text(rcode)), None)
    records = [rrset for rrset in reply.answer if rrset.rdtype == dns.rdatatype.A]
    addresses = [rd.address for rrset in records for rd in rrset]
    if not addresses:
        return StubAnswer(NoAnswer(name, "NOERROR with no addresses (NODATA)"), _negative_ttl(reply))
    return StubAnswer(addresses, min(rrset.ttl for rrset in records))


def _negative_ttl(reply: dns.message.Message) -> float | None:
    soa = next((r for r in reply.authority if r.rdtype == dns.rdatatype.SOA), None)
    return None if soa is None else min(soa.ttl, soa[0].minimum)


class StubCache:
    """Answers kept until their TTL runs out; pure: the engine passes its clock's `now`."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[float, Found]] = {}

    def get(self, name: str, now: float) -> Found | None:
        """A kept answer still in date, or None. A kept failure is handed out as it is: callers read it, and the one
        who raises it raises a copy (`_addresses`)."""
        kept = self._kept.get(name)
        if kept is None or kept[0] <= now:
            return None
        return kept[1]

    def keep(self, name: str, answer: StubAnswer, now: float) -> None:
        if answer.ttl is not None and answer.ttl > 0:
            self._kept[name] = (now + answer.ttl, answer.found)


@dataclass
class _Pending:
    done: runtime.Event = field(default_factory=runtime.Event)
    found: Found = field(default_factory=list)


class StubResolver:
    """Asks one resolver for A records over the Network; with `cache`, through a `StubCache`, and concurrent
    askers for one name share one lookup, as a caching daemon does."""

    def __init__(
        self,
        network: Network,
        resolver: Address,
        rng: random.Random,
        *,
        timeout: float = 1.0,
        attempts: int = 2,
        cache: bool = False,
    ) -> None:
        self._cache = StubCache() if cache else None
        self._pending: dict[str, _Pending] = {}
        self._network = network
        self._resolver = resolver
        self._rng = rng
        self._timeout = timeout
        self._attempts = attempts

    async def resolve(self, name: str) -> list[str]:
        """The addresses of `name`, in the order the resolver gave them.

        Raises NameNotFound (NXDOMAIN), NoAnswer (NODATA) or ResolverUnavailable.
        """
        return _addresses(await self.find(name))

    def cached(self, name: str) -> Found | None:
        """The kept answer for `name` while it is in date, without waiting (None: ask with `find`)."""
        return None if self._cache is None else self._cache.get(name, runtime.current_time())

    async def find(self, name: str) -> Found:
        """The addresses of `name`, or the DnsError that says why there are none."""
        if self._cache is None:
            return (await self._ask(name)).found
        kept = self._cache.get(name, runtime.current_time())
        if kept is not None:
            return kept
        pending = self._pending.get(name)
        if pending is not None:  # someone is asking already: share their answer
            await pending.done.wait()
            return pending.found
        pending = self._pending[name] = _Pending()
        try:
            answer = await self._ask(name)
            self._cache.keep(name, answer, runtime.current_time())
            pending.found = answer.found
        finally:
            del self._pending[name]
            pending.done.set()
        return answer.found

    async def _ask(self, name: str) -> StubAnswer:
        return await drive_async(lookup(name, self._rng, attempts=self._attempts), self._exchange)

    async def _exchange(self, query: bytes) -> bytes | OSError | None:
        try:
            return await self._network.udp_exchange(self._resolver, query, self._timeout)
        except TimeoutError:
            return None
        except NodeUnreachable as exc:
            return OSError(str(exc))
        except OSError as exc:
            return exc


def _addresses(found: Found) -> list[str]:
    if isinstance(found, DnsError):
        # A copy: raising one instance over and over would chain every raise's frames onto its traceback (hours
        # of a cached NODATA held gigabytes).
        raise found.again()
    return found
