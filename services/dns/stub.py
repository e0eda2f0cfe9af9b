"""The stub client that services use to ask the shared resolver for addresses (over the Network seam)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import anyio
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from services.errors import DnsError, NameNotFound, NoAnswer, NodeUnreachable, ResolverUnavailable
from services.net import Address, Network


@dataclass
class _Pending:
    done: anyio.Event = field(default_factory=anyio.Event)
    outcome: list[str] | DnsError = field(default_factory=list)


class StubResolver:
    """Asks one resolver for A records, retrying a lost datagram like a libc stub (RES_DFLRETRY = 2).

    With `cache`, answers are kept for their TTL, and NXDOMAIN/NODATA for the SOA's negative TTL (RFC 2308), as a
    host's caching daemon (nscd, systemd-resolved) or an SDK's DNS cache keeps them; Locust's users do the same.
    """

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
        self._cache: dict[str, tuple[float, list[str] | DnsError]] | None = {} if cache else None
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
        if self._cache is None:
            return await self._ask(name)
        kept = self._cache.get(name)
        if kept is not None and kept[0] > anyio.current_time():
            return self._outcome(kept[1])
        pending = self._pending.get(name)
        if pending is not None:  # someone is asking already: share their answer, as a caching daemon does
            await pending.done.wait()
            return self._outcome(pending.outcome)
        pending = self._pending[name] = _Pending()
        try:
            pending.outcome = await self._ask(name)
        except DnsError as exc:
            pending.outcome = exc
            raise
        finally:
            del self._pending[name]
            pending.done.set()
        return pending.outcome

    @staticmethod
    def _outcome(outcome: list[str] | DnsError) -> list[str]:
        if isinstance(outcome, DnsError):
            raise outcome.again()
        return outcome

    def _keep(self, name: str, ttl: float, outcome: list[str] | DnsError) -> None:
        if self._cache is not None and ttl > 0:
            self._cache[name] = (anyio.current_time() + ttl, outcome)

    def _negative(self, name: str, reply: dns.message.Message, problem: DnsError) -> DnsError:
        soa = next((r for r in reply.authority if r.rdtype == dns.rdatatype.SOA), None)
        if soa is not None:
            self._keep(name, min(soa.ttl, soa[0].minimum), problem)
        return problem

    async def _ask(self, name: str) -> list[str]:
        query = dns.message.make_query(name, dns.rdatatype.A)
        problem = "no reply"
        for _ in range(self._attempts):
            query.id = self._rng.randrange(1 << 16)
            try:
                wire = await self._network.udp_exchange(self._resolver, query.to_wire(), self._timeout)
                reply = dns.message.from_wire(wire)
            except TimeoutError:
                problem = f"no reply within {self._timeout} s"
                continue
            except (NodeUnreachable, OSError) as exc:
                raise ResolverUnavailable(name, str(exc)) from None
            except dns.exception.DNSException as exc:
                problem = f"unreadable reply: {exc}"
                continue
            if reply.id != query.id:
                problem = "reply to another query"
                continue
            rcode = reply.rcode()
            if rcode == dns.rcode.NXDOMAIN:
                raise self._negative(name, reply, NameNotFound(name, "NXDOMAIN"))
            if rcode != dns.rcode.NOERROR:
                raise ResolverUnavailable(name, dns.rcode.to_text(rcode))
            records = [rrset for rrset in reply.answer if rrset.rdtype == dns.rdatatype.A]
            addresses = [rd.address for rrset in records for rd in rrset]
            if not addresses:
                raise self._negative(name, reply, NoAnswer(name, "NOERROR with no addresses (NODATA)"))
            self._keep(name, min(rrset.ttl for rrset in records), addresses)
            return addresses
        raise ResolverUnavailable(name, problem)
