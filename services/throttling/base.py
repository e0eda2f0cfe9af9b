"""The shape of every client-side policy: one shared object per client, one small state per call.

A policy never sleeps and never reads a clock: the caller passes `now` (simulated seconds) and the policy answers
with how long to wait. That keeps policies usable from the services, Locust users and virtual users alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.throttling.outcome import Outcome


@dataclass(frozen=True)
class Admission:
    """Before an attempt: wait `delay` seconds first, or do not send at all (`allowed` False)."""

    delay: float = 0.0
    allowed: bool = True


SEND = Admission()
REJECT = Admission(allowed=False)


class Call(Protocol):
    """One logical request's retry state."""

    def before_attempt(self, attempt: int, now: float) -> Admission: ...

    def after_attempt(self, outcome: Outcome, now: float) -> float | None:
        """Seconds to wait before the next attempt, or None to stop with this outcome."""
        ...


class ClientPolicy(Protocol):
    name: str

    def new_call(self) -> Call: ...
