"""The shared resolver's cache: positive and negative caching, serve-stale, and last-known-good.

- Positive answers are kept for the smallest TTL in the answer (RFC 1035 §7.4 via RFC 2181 §5.2).
- Negative answers (NXDOMAIN, NODATA) are kept for min(SOA TTL, SOA MINIMUM) of the SOA that came with them, and
  not at all without one (RFC 2308 §5).
- Serve-stale (RFC 8767): when the authority cannot be reached, an expired answer is served for up to
  `max_stale` seconds after expiry (RFC 8767 §5 suggests 1 to 3 days; we use 1 day) with a TTL of
  `stale_answer_ttl` (30 s, RFC 8767 §4).
- Last-known-good (our mitigation option, not an RFC): when a fresh answer comes back empty for a name that had
  addresses, keep serving the old addresses instead.

Pure code: time is passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import dns.rcode
import dns.rdatatype
import dns.rrset

Key = tuple[str, int]

STALE_ANSWER_TTL = 30
MAX_STALE = 86400.0


@dataclass(frozen=True)
class CachedAnswer:
    """The parts of a response a resolver caches."""

    rcode: dns.rcode.Rcode
    answer: tuple[dns.rrset.RRset, ...]
    authority: tuple[dns.rrset.RRset, ...]

    @property
    def positive(self) -> bool:
        return self.rcode == dns.rcode.NOERROR and bool(self.answer)

    def cache_ttl(self) -> int | None:
        """How long this answer may be cached, or None when it must not be."""
        if self.positive:
            return min(rrset.ttl for rrset in self.answer)
        if self.rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return None
        for rrset in self.authority:
            if rrset.rdtype == dns.rdatatype.SOA:
                return int(min(rrset.ttl, rrset[0].minimum))
        return None


@dataclass(frozen=True)
class Cached:
    """An answer as served from the cache: `ttl` is what is left of it (or the stale TTL)."""

    answer: CachedAnswer
    ttl: int
    stale: bool = False


@dataclass
class _Entry:
    answer: CachedAnswer
    stored_at: float
    ttl: int

    def remaining(self, now: float) -> float:
        return self.stored_at + self.ttl - now


@dataclass
class ResolverCache:
    serve_stale: bool = False
    last_known_good: bool = False
    stale_answer_ttl: int = STALE_ANSWER_TTL
    max_stale: float = MAX_STALE
    _entries: dict[Key, _Entry] = field(default_factory=dict)
    _last_good: dict[Key, CachedAnswer] = field(default_factory=dict)
    kept_last_known_good: int = 0

    def fresh(self, key: Key, now: float) -> Cached | None:
        entry = self._entries.get(key)
        if entry is None or entry.remaining(now) <= 0:
            return None
        # Whole seconds, rounded up: a fresh answer never goes out with TTL 0 (which would tell every client not
        # to cache it), as in resolvers that keep integer expiry times (Unbound: ttl = expiry - now > 0).
        return Cached(entry.answer, math.ceil(entry.remaining(now)))

    def stale(self, key: Key, now: float) -> Cached | None:
        """An expired answer to serve because the authority failed, if serve-stale allows it."""
        entry = self._entries.get(key)
        if not self.serve_stale or entry is None or entry.remaining(now) < -self.max_stale:
            return None
        return Cached(entry.answer, self.stale_answer_ttl, stale=True)

    def store(self, key: Key, answer: CachedAnswer, now: float) -> Cached:
        """Cache a fresh answer from the authority; return what to serve for it."""
        if answer.positive:
            self._last_good[key] = answer
        elif self.last_known_good and key in self._last_good:
            answer = self._last_good[key]
            self.kept_last_known_good += 1
        ttl = answer.cache_ttl()
        if ttl is None:
            return Cached(answer, 0)
        self._entries[key] = _Entry(answer, now, ttl)
        return Cached(answer, ttl)

    def __len__(self) -> int:
        return len(self._entries)
