"""The authority answers from the zone: weighted A answers, NODATA with SOA, NXDOMAIN, and FORMERR for junk."""

from __future__ import annotations

import random
from collections import Counter

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
from hypothesis import given, settings
from hypothesis import strategies as st

from services.dns.authority import Authority, weighted_order
from services.dns.zone import Action, Change, RecordSet, WeightedAddress, Zone

NAME = "dynamodb.us-east-1.cloud.test"


def make_authority(addresses: tuple[WeightedAddress, ...] = (WeightedAddress("127.0.1.1"),)) -> Authority:
    zone = Zone(negative_ttl=5)
    zone.change([Change(Action.UPSERT, RecordSet(NAME, addresses, 5, 1))])
    return Authority(zone, random.Random(1))


def ask(authority: Authority, name: str, rdtype: str = "A") -> dns.message.Message:
    wire = authority.answer(dns.message.make_query(name, rdtype).to_wire())
    assert wire is not None
    return dns.message.from_wire(wire)


def test_a_full_record_set_gets_authoritative_a_answers_with_its_ttl() -> None:
    """NOERROR, AA set, every address once, TTL from the record set."""
    authority = make_authority((WeightedAddress("127.0.1.1"), WeightedAddress("127.0.1.2")))
    reply = ask(authority, NAME)
    assert reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA
    (rrset,) = reply.answer
    assert rrset.ttl == 5 and sorted(rd.address for rd in rrset) == ["127.0.1.1", "127.0.1.2"]


def test_an_empty_record_set_is_nodata_with_the_soa_carrying_the_negative_ttl() -> None:
    """RFC 2308 NODATA: NOERROR, no answer, the SOA in authority with TTL min(SOA TTL, MINIMUM)."""
    authority = make_authority()
    authority.zone.change([Change(Action.UPSERT, RecordSet(NAME, (), 5, 1))])
    reply = ask(authority, NAME)
    assert reply.rcode() == dns.rcode.NOERROR and not reply.answer
    (soa,) = reply.authority
    assert soa.rdtype == dns.rdatatype.SOA and soa.ttl == 5 and soa[0].minimum == 5


def test_unknown_names_are_nxdomain_and_foreign_names_refused() -> None:
    """NXDOMAIN (with SOA) under cloud.test; REFUSED outside it; other types of a known name are NODATA."""
    authority = make_authority()
    nx = ask(authority, "nope.cloud.test")
    assert nx.rcode() == dns.rcode.NXDOMAIN and nx.authority[0].rdtype == dns.rdatatype.SOA
    assert ask(authority, "example.com").rcode() == dns.rcode.REFUSED
    aaaa = ask(authority, NAME, "AAAA")
    assert aaaa.rcode() == dns.rcode.NOERROR and not aaaa.answer and aaaa.authority
    assert ask(authority, "cloud.test", "SOA").answer[0].rdtype == dns.rdatatype.SOA


def test_the_first_address_is_drawn_in_proportion_to_weight() -> None:
    """Weighted routing: over many draws the first address follows the weights (3:1), weight 0 never leads."""
    rng = random.Random(7)
    addresses = (WeightedAddress("127.0.1.1", 3), WeightedAddress("127.0.1.2", 1), WeightedAddress("127.0.1.3", 0))
    firsts = Counter(weighted_order(addresses, rng)[0] for _ in range(8000))
    assert firsts["127.0.1.3"] == 0
    assert 2.7 < firsts["127.0.1.1"] / firsts["127.0.1.2"] < 3.3


def test_junk_gets_formerr_or_silence_never_an_exception() -> None:
    """Short datagrams and responses are dropped; unparsable queries get FORMERR with the same id."""
    authority = make_authority()
    assert authority.answer(b"\x01") is None
    query = dns.message.make_query(NAME, "A")
    response = dns.message.make_response(query).to_wire()
    assert authority.answer(response) is None
    junk = query.to_wire()[:12] + b"\xff\xff\xff"
    reply = dns.message.from_wire(authority.answer(junk) or b"", question_only=True)
    assert reply.id == query.id and reply.rcode() == dns.rcode.FORMERR
    notify = bytearray(query.to_wire())
    notify[2] = (notify[2] & 0x87) | (4 << 3)  # opcode NOTIFY
    assert dns.message.from_wire(authority.answer(bytes(notify)) or b"").rcode() == dns.rcode.NOTIMP


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_at_all_are_survived(wire: bytes) -> None:
    """Whatever arrives, `answer` returns bytes or None and never raises."""
    reply = make_authority().answer(wire)
    assert reply is None or isinstance(reply, bytes)


def test_the_weighted_order_survives_onto_the_wire() -> None:
    """The first address on the wire is drawn by weight: rendering must not reshuffle the records."""
    heavy = (WeightedAddress("127.0.1.1", 98), WeightedAddress("127.0.1.2", 1), WeightedAddress("127.0.1.3", 1))
    authority = make_authority(heavy)
    firsts = Counter(next(iter(ask(authority, NAME).answer[0])).address for _ in range(400))
    assert firsts["127.0.1.1"] > 0.9 * 400
