"""Queue disciplines for a node's waiting requests: FIFO, LIFO, queue-age shedding and CoDel.

`pop` returns the request to serve next and the requests dropped on the way (their callers are told at once).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


@dataclass
class Waiting(Generic[T]):
    enqueued: float
    item: T


class Discipline(Protocol[T]):
    name: str

    def push(self, entry: Waiting[T]) -> None: ...

    def pop(self, now: float) -> tuple[Waiting[T] | None, list[Waiting[T]]]: ...

    def remove(self, entry: Waiting[T]) -> bool: ...

    def __len__(self) -> int: ...


@dataclass
class Fifo(Generic[T]):
    """First in, first out."""

    name: str = "fifo"
    queue: deque[Waiting[T]] = field(default_factory=deque)

    def push(self, entry: Waiting[T]) -> None:
        self.queue.append(entry)

    def pop(self, now: float) -> tuple[Waiting[T] | None, list[Waiting[T]]]:
        return (self.queue.popleft() if self.queue else None), []

    def remove(self, entry: Waiting[T]) -> bool:
        try:
            self.queue.remove(entry)
        except ValueError:
            return False
        return True

    def __len__(self) -> int:
        return len(self.queue)


@dataclass
class Lifo(Fifo[T]):
    """Last in, first out: under overload the newest request, whose caller is most likely still waiting, goes
    first (Facebook's adaptive LIFO, "Fail at Scale", ACM Queue 2015)."""

    name: str = "lifo"

    def pop(self, now: float) -> tuple[Waiting[T] | None, list[Waiting[T]]]:
        return (self.queue.pop() if self.queue else None), []


@dataclass
class QueueAgeShedding(Fifo[T]):
    """FIFO that drops, at dequeue, every request that has waited longer than `max_age` (100 ms: the interval of
    Facebook's controlled-delay queues in "Fail at Scale")."""

    max_age: float = 0.1
    name: str = "queue-age-shedding"

    def pop(self, now: float) -> tuple[Waiting[T] | None, list[Waiting[T]]]:
        dropped = []
        while self.queue and now - self.queue[0].enqueued > self.max_age:
            dropped.append(self.queue.popleft())
        return (self.queue.popleft() if self.queue else None), dropped


@dataclass
class CoDel(Fifo[T]):
    """Controlled Delay (Nichols & Jacobson, ACM Queue 2012; RFC 8289), with its defaults target 5 ms and
    interval 100 ms. Nothing is dropped until the sojourn time has stayed above `target` for a whole `interval`;
    then drops come at interval / sqrt(count) spacing until the sojourn falls below target again."""

    target: float = 0.005
    interval: float = 0.1
    name: str = "codel"
    first_above: float = 0.0
    drop_next: float = 0.0
    count: int = 0
    last_count: int = 0
    dropping: bool = False

    def _ok_to_drop(self, entry: Waiting[T], now: float) -> bool:
        sojourn = now - entry.enqueued
        if sojourn < self.target or not self.queue:
            self.first_above = 0.0
            return False
        if self.first_above == 0.0:
            self.first_above = now + self.interval
            return False
        return now >= self.first_above

    def _control_law(self, t: float) -> float:
        return t + self.interval / math.sqrt(self.count)

    def pop(self, now: float) -> tuple[Waiting[T] | None, list[Waiting[T]]]:
        dropped: list[Waiting[T]] = []
        if not self.queue:
            self.dropping = False
            return None, dropped
        entry = self.queue.popleft()
        ok = self._ok_to_drop(entry, now)
        if self.dropping:
            if not ok:
                self.dropping = False
            while self.dropping and now >= self.drop_next:
                dropped.append(entry)
                self.count += 1
                if not self.queue:
                    self.dropping = False
                    return None, dropped
                entry = self.queue.popleft()
                if not self._ok_to_drop(entry, now):
                    self.dropping = False
                else:
                    self.drop_next = self._control_law(self.drop_next)
        elif ok:
            dropped.append(entry)
            delta = self.count - self.last_count
            self.count = delta if delta > 1 and now - self.drop_next < 16 * self.interval else 1
            self.last_count = self.count
            self.dropping = True
            self.drop_next = self._control_law(now)
            entry_or_none = self.queue.popleft() if self.queue else None
            return entry_or_none, dropped
        return entry, dropped
