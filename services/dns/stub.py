"""The stub client that services use to ask the shared resolver for addresses (over the Network seam)."""

from __future__ import annotations

import random

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from services.errors import NameNotFound, NoAnswer, NodeUnreachable, ResolverUnavailable
from services.net import Address, Network


class StubResolver:
    """Asks one resolver for A records, retrying a lost datagram like a libc stub (RES_DFLRETRY = 2)."""

    def __init__(
        self,
        network: Network,
        resolver: Address,
        rng: random.Random,
        *,
        timeout: float = 1.0,
        attempts: int = 2,
    ) -> None:
        self._network = network
        self._resolver = resolver
        self._rng = rng
        self._timeout = timeout
        self._attempts = attempts

    async def resolve(self, name: str) -> list[str]:
        """The addresses of `name`, in the order the resolver gave them.

        Raises NameNotFound (NXDOMAIN), NoAnswer (NODATA) or ResolverUnavailable.
        """
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
                raise NameNotFound(name, "NXDOMAIN")
            if rcode != dns.rcode.NOERROR:
                raise ResolverUnavailable(name, dns.rcode.to_text(rcode))
            addresses = [rd.address for rrset in reply.answer if rrset.rdtype == dns.rdatatype.A for rd in rrset]
            if not addresses:
                raise NoAnswer(name, "NOERROR with no addresses (NODATA)")
            return addresses
        raise ResolverUnavailable(name, problem)
