"""The authoritative DNS server for `cloud.test`: answers over UDP from the Route 53-like Zone.

- A query for a record set with addresses gets weighted A answers: all the addresses, ordered by a weighted
  random draw, so that the first (which most clients use) is picked in proportion to its weight, as Route 53
  weighted routing picks a record.
- An empty record set gets NOERROR with no answer and the SOA in the authority section (NODATA, RFC 2308 §2.2).
- An unknown name under the zone gets NXDOMAIN with the SOA; a name outside the zone gets REFUSED.
- A malformed datagram gets FORMERR (or is dropped when not even a header can be read); the server never crashes.
"""

from __future__ import annotations

import random

import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.rrset

from services import runtime
from services.dns.wire import IN, Query, parse_query, respond, to_wire
from services.dns.zone import WeightedAddress, Zone
from services.net.network import Address, Network
from services.runtime import TaskStatus


def weighted_order(addresses: tuple[WeightedAddress, ...], rng: random.Random) -> list[str]:
    """Addresses in a weighted random order (Efraimidis-Spirakis): the first is drawn with P ∝ weight.

    Zero-weight addresses come last, as Route 53 serves them only when every weight is zero.
    """
    keyed = [(rng.random() ** (1.0 / a.weight) if a.weight > 0 else -rng.random(), a.ip) for a in addresses]
    keyed.sort(reverse=True)
    return [ip for _, ip in keyed]


class Authority:
    """Answers DNS queries from a Zone; `answer` is pure, `serve` puts it on the Network."""

    def __init__(self, zone: Zone, rng: random.Random) -> None:
        self.zone = zone
        self._rng = rng
        self.queries = 0
        self.malformed = 0

    def answer(self, wire: bytes) -> bytes | None:
        self.queries += 1
        parsed = parse_query(wire)
        if not isinstance(parsed, Query):
            self.malformed += 1
            return parsed
        return to_wire(self._answer(parsed))

    def _answer(self, query: Query) -> dns.message.Message:
        zone = self.zone
        if query.rdclass != IN or not zone.contains(query.qname):
            return respond(query, dns.rcode.REFUSED, authoritative=False, recursion_available=False)
        response = respond(query, dns.rcode.NOERROR, authoritative=True, recursion_available=False)
        qname = query.message.question[0].name
        if query.qname == zone.origin and query.rdtype in (dns.rdatatype.SOA, dns.rdatatype.NS):
            response.answer.append(self._apex_rrset(query.rdtype))
            return response
        record_set = zone.get(query.qname)
        if record_set is None and query.qname != zone.origin:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif record_set is not None and not record_set.empty and query.rdtype in (dns.rdatatype.A, dns.rdatatype.ANY):
            rrset = dns.rrset.RRset(qname, IN, dns.rdatatype.A)
            rrset.ttl = record_set.ttl
            for ip in weighted_order(record_set.addresses, self._rng):
                rrset.add(dns.rdata.from_text(IN, dns.rdatatype.A, ip))
            response.answer.append(rrset)
            return response
        response.authority.append(self._apex_rrset(dns.rdatatype.SOA, ttl=zone.soa.negative_ttl))
        return response

    def _apex_rrset(self, rdtype: dns.rdatatype.RdataType, ttl: int | None = None) -> dns.rrset.RRset:
        soa = self.zone.soa
        origin = dns.name.from_text(self.zone.origin)
        rrset = dns.rrset.RRset(origin, IN, rdtype)
        if rdtype == dns.rdatatype.SOA:
            text = f"{soa.mname}. {soa.rname}. {soa.serial} {soa.refresh} {soa.retry} {soa.expire} {soa.minimum}"
            rrset.ttl = soa.ttl if ttl is None else ttl
        else:
            text = f"{soa.mname}."
            rrset.ttl = soa.ttl
        rrset.add(dns.rdata.from_text(IN, rdtype, text))
        return rrset

    async def serve(
        self,
        network: Network,
        address: Address,
        *,
        task_status: TaskStatus[Address] = runtime.TASK_STATUS_IGNORED,
    ) -> None:
        async def handle(wire: bytes, peer: Address) -> bytes | None:
            return self.answer(wire)

        await network.serve_udp(handle, address, task_status=task_status)
