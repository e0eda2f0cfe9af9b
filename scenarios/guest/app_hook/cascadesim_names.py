"""The cloud's names (`*.cloud.test`) resolved through cascadesim's shared resolver, inside the user's program.

`install()` replaces `socket.getaddrinfo` with one that asks the shared resolver, over real UDP, for the A records
of a name under the zone, keeps the answer for its TTL (a failure for the SOA's negative TTL, RFC 2308), as a host's
caching daemon would, and hands every other name to the original function. So an unmodified program sees what it
would have seen on 2025-10-19: while the record is empty, `getaddrinfo` fails as glibc does for a name with no
address (EAI_NODATA, "No address associated with hostname"), urllib3 turns that into a NameResolutionError and
botocore into `EndpointConnectionError` ("Could not connect to the endpoint URL"); once DNS is repaired, and the
kept failure has run out, the name resolves again.

This module runs in the user's interpreter, which may not have cascadesim installed: it needs the standard library
and dnspython only, and it must not import cascadesim's packages (a top-level `services` would shadow the user's
own). That is why it reads the resolver's reply itself instead of through services/dns/stub.py; the rules are the
same (A records, TTLs, NXDOMAIN and NODATA kept for the negative TTL).

With `log_dir`, every lookup of a cloud name (one per connection the program opens) is appended to
`lookups-<pid>.csv` in it as `second,name,outcome` on the cloud's clock, so the run can show the program's calls
that never reached a node.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

ANSWERED = "answered"
NO_ADDRESS = "no_address"  # NODATA: the record exists and is empty (the race's result)
NO_SUCH_NAME = "no_such_name"  # NXDOMAIN
RESOLVER_UNAVAILABLE = "resolver_unavailable"

_MARK = "__cascadesim_names__"
_FAILURES = {
    NO_ADDRESS: (socket.EAI_NODATA, "No address associated with hostname"),
    NO_SUCH_NAME: (socket.EAI_NONAME, "Name or service not known"),
    RESOLVER_UNAVAILABLE: (socket.EAI_AGAIN, "Temporary failure in name resolution"),
}
_SOCKET_TYPES = (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_RAW)
_PROTOCOLS: dict[int, int] = {
    socket.SOCK_STREAM: socket.IPPROTO_TCP,
    socket.SOCK_DGRAM: socket.IPPROTO_UDP,
    socket.SOCK_RAW: 0,
}

_original: Callable[..., Any] | None = None


class CloudNames:
    """Answers for the zone's names from the shared resolver, kept for their TTL."""

    def __init__(
        self,
        resolver: tuple[str, int],
        zone: str = "cloud.test",
        *,
        clock: Callable[[], float] = time.monotonic,
        log_dir: str | None = None,
        timeout: float = 1.0,
    ) -> None:
        self.resolver = resolver
        self.suffix = "." + zone.strip(".").lower()
        self.clock = clock
        self.timeout = timeout
        self._kept: dict[str, tuple[float, list[str] | str]] = {}
        self._rng = random.Random()
        self._log = None
        if log_dir is not None:
            os.makedirs(log_dir, exist_ok=True)
            self._log = open(os.path.join(log_dir, f"lookups-{os.getpid()}.csv"), "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (open for the program's life)
        self._lock = threading.Lock()

    def covers(self, host: object) -> bool:
        """Whether `host` (str, or bytes as anyio and trio pass it) is a name under the zone."""
        name = _text(host)
        return name is not None and (name.lower().rstrip(".") + ".").endswith(self.suffix + ".")

    def addresses(self, name: str) -> list[str] | str:
        """The name's addresses, or the outcome that says why there are none."""
        name = name.lower().rstrip(".")
        now = self.clock()
        kept = self._kept.get(name)
        if kept is not None and kept[0] > now:
            found = kept[1]
        else:
            found, ttl = self._ask(name)
            if ttl is not None and ttl > 0:
                self._kept[name] = (now + ttl, found)
        self._note(name, found)
        return found

    def _ask(self, name: str) -> tuple[list[str] | str, float | None]:
        query = dns.message.make_query(name, dns.rdatatype.A)
        host, port = self.resolver
        for _ in range(2):  # a lost datagram is asked again, as a libc stub does (RES_DFLRETRY)
            query.id = self._rng.randrange(1 << 16)
            try:
                reply = dns.query.udp(query, host, timeout=self.timeout, port=port)
            except dns.exception.Timeout:
                continue
            except (OSError, dns.exception.DNSException):
                return RESOLVER_UNAVAILABLE, None
            return _read(reply)
        return RESOLVER_UNAVAILABLE, None

    def _note(self, name: str, found: list[str] | str) -> None:
        outcome = found if isinstance(found, str) else ANSWERED
        with self._lock:  # another thread may be closing the log (the pytest plugin's teardown)
            if self._log is not None:
                self._log.write(f"{self.clock():.3f},{name},{outcome}\n")

    def close(self) -> None:
        with self._lock:
            if self._log is not None:
                self._log.close()
                self._log = None


def _read(reply: dns.message.Message) -> tuple[list[str] | str, float | None]:
    rcode = reply.rcode()
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return RESOLVER_UNAVAILABLE, None
    soa = next((r for r in reply.authority if r.rdtype == dns.rdatatype.SOA), None)
    negative = None if soa is None else float(min(soa.ttl, soa[0].minimum))
    if rcode == dns.rcode.NXDOMAIN:
        return NO_SUCH_NAME, negative
    records = [rrset for rrset in reply.answer if rrset.rdtype == dns.rdatatype.A]
    addresses = [rd.address for rrset in records for rd in rrset]
    if not addresses:
        return NO_ADDRESS, negative
    return addresses, float(min(rrset.ttl for rrset in records))


def install(names: CloudNames) -> None:
    """Route lookups of the zone's names through `names` (a second install replaces the first)."""
    global _original
    original = socket.getaddrinfo
    if getattr(original, _MARK, False):
        uninstall()
        original = socket.getaddrinfo
    _original = original

    def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> Any:
        if not names.covers(host):
            return original(host, port, family, type, proto, flags)
        if flags & socket.AI_NUMERICHOST:  # a name is not a numeric address: glibc says so without asking DNS
            raise socket.gaierror(*_FAILURES[NO_SUCH_NAME])
        if family not in (0, socket.AF_INET):  # the zone has A records only
            raise socket.gaierror(*_FAILURES[NO_ADDRESS])
        found = names.addresses(_text(host) or "")
        if isinstance(found, str):
            raise socket.gaierror(*_FAILURES[found])
        number = _port(port)
        types = [type] if type else list(_SOCKET_TYPES)
        return [
            (socket.AF_INET, kind, proto or _PROTOCOLS.get(kind, 0), "", (address, number))
            for address in found
            for kind in types
        ]

    setattr(getaddrinfo, _MARK, True)
    getaddrinfo.__doc__ = original.__doc__
    socket.getaddrinfo = getaddrinfo


def uninstall() -> None:
    """Put the original `socket.getaddrinfo` back (a no-op if `install` was not called)."""
    global _original
    if _original is not None:
        socket.getaddrinfo = _original
        _original = None


def installed() -> bool:
    """Whether `socket.getaddrinfo` is this module's now."""
    return bool(getattr(socket.getaddrinfo, _MARK, False))


def _text(host: object) -> str | None:
    """A host name as text: bytes are decoded (ASCII, or IDNA for an internationalised name); None if neither."""
    if isinstance(host, str):
        return host
    if isinstance(host, bytes):
        try:
            return host.decode("ascii")
        except UnicodeDecodeError:
            return host.decode("idna")
    return None


def _port(port: Any) -> int:
    if port is None:
        return 0
    if isinstance(port, bytes):
        port = port.decode()
    if isinstance(port, str) and not port.isdigit():
        return socket.getservbyname(port)
    return int(port)


def from_environment(environ: dict[str, str] | None = None) -> CloudNames | None:
    """The resolver `cascadesim exec` named in the environment, or None when it named none.

    CASCADESIM_RESOLVER   HOST:PORT of the shared resolver (required)
    CASCADESIM_ZONE       the zone whose names it answers (default cloud.test)
    CASCADESIM_APP_DIR    where to log the lookups (optional)
    CASCADESIM_CLOCK      "OFFSET START": the cloud's clock is time.perf_counter() + OFFSET, its run began at
                          START (optional: without it, the log's seconds are this process's own)
    """
    env = os.environ if environ is None else environ
    resolver = env.get("CASCADESIM_RESOLVER")
    if not resolver:
        return None
    host, _, port = resolver.rpartition(":")
    clock: Callable[[], float] = time.monotonic
    if env.get("CASCADESIM_CLOCK"):
        offset, start = (float(part) for part in env["CASCADESIM_CLOCK"].split())

        def clock() -> float:
            return time.perf_counter() + offset - start

    return CloudNames(
        (host, int(port)), env.get("CASCADESIM_ZONE", "cloud.test"), clock=clock, log_dir=env.get("CASCADESIM_APP_DIR")
    )
