"""Parsing DNS queries off the wire, and the error responses a real server sends for bad ones.

Shared by the authority and the shared resolver: both must survive any datagram (RFC 1035 §4.1.1 rcodes).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

HEADER = struct.Struct("!HHHHHH")


@dataclass(frozen=True)
class Query:
    """A well-formed standard query with exactly one question."""

    message: dns.message.Message
    qname: str
    rdtype: dns.rdatatype.RdataType
    rdclass: dns.rdataclass.RdataClass


def parse_query(wire: bytes) -> Query | bytes | None:
    """Parse a datagram as a query.

    Returns the Query, or the wire error response to send back (FORMERR, NOTIMP), or None when the datagram must
    be dropped: shorter than a header, or itself a response (answering responses invites loops).
    """
    if len(wire) < HEADER.size:
        return None
    msg_id, flags, *_ = HEADER.unpack_from(wire)
    if flags & dns.flags.QR:
        return None
    opcode = dns.opcode.from_flags(flags)
    if opcode != dns.opcode.QUERY:
        return error_response(msg_id, flags, dns.rcode.NOTIMP)
    try:
        message = dns.message.from_wire(wire)
    except (dns.exception.DNSException, ValueError, UnicodeError):
        return error_response(msg_id, flags, dns.rcode.FORMERR)
    if len(message.question) != 1:
        return error_response(msg_id, flags, dns.rcode.FORMERR)
    question = message.question[0]
    return Query(message, question.name.to_text().rstrip(".").lower(), question.rdtype, question.rdclass)


def error_response(msg_id: int, query_flags: int, rcode: int) -> bytes:
    """A bare header carrying `rcode`, echoing the id, opcode and RD bit of a query we could not parse."""
    flags = dns.flags.QR | (query_flags & (0xF << 11)) | (query_flags & dns.flags.RD) | rcode
    return HEADER.pack(msg_id, flags, 0, 0, 0, 0)


def respond(
    query: Query, rcode: dns.rcode.Rcode, *, authoritative: bool, recursion_available: bool
) -> dns.message.Message:
    """A response skeleton for `query`: same id and question, EDNS echoed as the query used it."""
    response = dns.message.make_response(query.message)
    response.set_rcode(rcode)
    if authoritative:
        response.flags |= dns.flags.AA
    if recursion_available:
        response.flags |= dns.flags.RA
    return response


def to_wire(response: dns.message.Message) -> bytes:
    """Render a response, truncating (TC) rather than failing when it does not fit the asker's UDP size.

    Records keep the order they were given: dnspython would otherwise shuffle them with the process-wide `random`,
    which undoes the authority's weighted order and makes a seeded run differ from one process to the next.
    """
    limit = max(512, response.request_payload or 512) if response.edns >= 0 else 512
    try:
        return response.to_wire(max_size=limit, want_shuffle=False)
    except dns.exception.TooBig:
        response.answer.clear()
        response.authority.clear()
        response.flags |= dns.flags.TC
        return response.to_wire(want_shuffle=False)


def copy_rrset(rrset: dns.rrset.RRset, ttl: int) -> dns.rrset.RRset:
    """The same records with another TTL (cached answers count their TTL down)."""
    return dns.rrset.from_rdata_list(rrset.name, max(0, ttl), list(rrset))


IN = dns.rdataclass.IN
