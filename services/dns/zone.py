"""A Route 53-like hosted zone for `cloud.test`.

A record set is a name, a list of weighted IPv4 addresses and a TTL, and it remembers the plan generation that
wrote it (the DNS Enactors tag what they write). Changes arrive in change batches that apply atomically: Route 53
validates every change first and rejects the whole batch with InvalidChangeBatch if any one cannot apply.

Unlike Route 53, a record set may be empty: that is the state the 2025 race left behind, and the authority
answers it with NOERROR/NODATA.

Pure code: no I/O and no clock.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from services.errors import InvalidChangeBatch


@dataclass(frozen=True)
class WeightedAddress:
    """One IPv4 address of a record set and its routing weight (Route 53 weighted routing, 0..255)."""

    ip: str
    weight: int = 1

    def __post_init__(self) -> None:
        ipaddress.IPv4Address(self.ip)
        if not 0 <= self.weight <= 255:
            raise ValueError(f"weight = {self.weight}: must be between 0 and 255")


@dataclass(frozen=True)
class RecordSet:
    """An A record set; `generation` is the plan that wrote it, or None when an operator wrote it by hand."""

    name: str
    addresses: tuple[WeightedAddress, ...]
    ttl: int
    generation: int | None = None

    @property
    def empty(self) -> bool:
        return not self.addresses


class Action(StrEnum):
    CREATE = "CREATE"
    UPSERT = "UPSERT"
    DELETE = "DELETE"


@dataclass(frozen=True)
class Change:
    action: Action
    record_set: RecordSet


@dataclass(frozen=True)
class RecordSetChange:
    """What one applied change did to one name: `before`/`after` are None where the set did not exist."""

    name: str
    before: RecordSet | None
    after: RecordSet | None


@dataclass(frozen=True)
class Soa:
    """The zone's SOA. `minimum` is the negative-caching TTL (RFC 2308 §4)."""

    mname: str
    rname: str
    serial: int
    refresh: int = 7200
    retry: int = 900
    expire: int = 1209600
    minimum: int = 5
    ttl: int = 900

    @property
    def negative_ttl(self) -> int:
        """RFC 2308 §3: a negative answer is cached for min(SOA TTL, SOA MINIMUM)."""
        return min(self.ttl, self.minimum)


ChangeListener = Callable[[RecordSetChange], None]


@dataclass
class Zone:
    """The hosted zone: record sets by lower-case fully qualified name (without the trailing dot)."""

    origin: str = "cloud.test"
    negative_ttl: int = 5
    _records: dict[str, RecordSet] = field(default_factory=dict)
    _listeners: list[ChangeListener] = field(default_factory=list)
    serial: int = 1

    @property
    def soa(self) -> Soa:
        return Soa(
            mname=f"ns1.{self.origin}",
            rname=f"hostmaster.{self.origin}",
            serial=self.serial,
            minimum=self.negative_ttl,
        )

    def contains(self, name: str) -> bool:
        """Whether `name` is at or under the zone's origin."""
        name = _normalise(name)
        return name == self.origin or name.endswith("." + self.origin)

    def get(self, name: str) -> RecordSet | None:
        return self._records.get(_normalise(name))

    def record_sets(self) -> Iterator[RecordSet]:
        return iter(list(self._records.values()))

    def subscribe(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def change(self, changes: Iterable[Change]) -> list[RecordSetChange]:
        """Apply a change batch atomically, Route 53 style, and return what each change did."""
        batch = list(changes)
        staged = dict(self._records)
        applied: list[RecordSetChange] = []
        for change in batch:
            name = _normalise(change.record_set.name)
            if not self.contains(name):
                raise InvalidChangeBatch(f"{name} is not in zone {self.origin}")
            record_set = RecordSet(
                name, change.record_set.addresses, change.record_set.ttl, change.record_set.generation
            )
            before = staged.get(name)
            if change.action is Action.CREATE and before is not None:
                raise InvalidChangeBatch(f"Tried to create resource record set {name} but it already exists")
            if change.action is Action.DELETE:
                if before != record_set:
                    raise InvalidChangeBatch(
                        f"Tried to delete resource record set {name} but it was not found with those values"
                    )
                del staged[name]
                applied.append(RecordSetChange(name, before, None))
            else:
                staged[name] = record_set
                applied.append(RecordSetChange(name, before, record_set))
        self._records = staged
        self.serial += 1
        for record_change in applied:
            for listener in self._listeners:
                listener(record_change)
        return applied


def _normalise(name: str) -> str:
    return name.rstrip(".").lower()
