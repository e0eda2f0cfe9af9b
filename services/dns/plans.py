"""DNS plans and the store the Planner writes them to (names from AWS's 2025-10-19/20 summary).

A plan is, for each DynamoDB endpoint, the set of load-balancer (router) addresses with weights, under a
generation number that only grows. The Enactors read the newest plan from the store and clean up old ones.

Pure code: no I/O and no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from services.dns.zone import WeightedAddress


@dataclass(frozen=True)
class Plan:
    """Generation `generation` of the DNS plan: the addresses each endpoint should resolve to."""

    generation: int
    endpoints: Mapping[str, tuple[WeightedAddress, ...]]
    created_at: float


@dataclass
class PlanStore:
    """Where the Planner publishes plans and the Enactors find them."""

    _plans: dict[int, Plan] = field(default_factory=dict)
    _last_generation: int = 0

    def publish(self, endpoints: Mapping[str, tuple[WeightedAddress, ...]], now: float) -> Plan:
        self._last_generation += 1
        plan = Plan(self._last_generation, dict(endpoints), now)
        self._plans[plan.generation] = plan
        return plan

    def newest(self) -> Plan | None:
        return self._plans.get(self._last_generation)

    @property
    def last_generation(self) -> int:
        """The highest generation ever published (even if it has since been deleted)."""
        return self._last_generation

    def get(self, generation: int) -> Plan | None:
        return self._plans.get(generation)

    def __contains__(self, generation: object) -> bool:
        return generation in self._plans

    def generations(self) -> list[int]:
        return sorted(self._plans)

    def delete(self, generations: Iterable[int]) -> list[int]:
        """Delete these plans; returns the generations that were actually present."""
        return [g for g in generations if self._plans.pop(g, None) is not None]
