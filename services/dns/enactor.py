"""The DNS Enactors (name from AWS's 2025-10-19/20 summary), in the two variants cascadesim compares.

Each Enactor loops on its own:
1. it picks up the newest plan and checks, once, that it is newer than the plan applied (the highest generation
   on any endpoint);
2. it applies the plan endpoint by endpoint, each as a Route 53 change batch, retrying an endpoint that another
   Enactor holds;
3. it cleans up plans more than `cleanup_age` generations older than the plan it has just applied.

`aws-2025` is the design that failed. Nothing re-checks freshness during a slow apply, so a delayed Enactor can
write a stale plan over a newer one. Clean-up then deletes that stale plan together with the records it wrote,
although the endpoint still uses them: the record is left empty. Applying a change batch needs the endpoint's
active plan (the batch must name the values it replaces), so once that plan is gone every later apply to the
endpoint is blocked until an operator repairs the zone.

`fixed` is AWS's remedy: the write is conditional (a record holding a newer generation is never overwritten) and
clean-up never deletes a plan that a record still uses.

`refuse_empty` is the further protection AWS announced ("add additional protections to prevent the application of
incorrect DNS plans"), in either variant: an Enactor refuses any change that would leave an endpoint with no
address, whether a plan's or a clean-up's; it says so (`empty_refused`) and the record keeps what it had.

Nothing here deletes a record on a timer: the empty record only appears when an injected delay and the Planner's
churn line up, and the event log says which apply and which clean-up did it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from services import runtime
from services.dns.plans import Plan, PlanStore
from services.dns.zone import Action, Change, RecordSet, Zone
from services.event_kinds import EventKind
from services.events import EventLog


class Variant(StrEnum):
    AWS_2025 = "aws-2025"
    FIXED = "fixed"


@dataclass
class EndpointLocks:
    """Which Enactor holds which endpoint while its change batch is in flight."""

    _holders: dict[str, str] = field(default_factory=dict)

    def acquire(self, endpoint: str, enactor: str) -> str | None:
        """Take the endpoint; returns the other holder's name instead when it is taken."""
        holder = self._holders.setdefault(endpoint, enactor)
        return None if holder == enactor else holder

    def release(self, endpoint: str, enactor: str) -> None:
        if self._holders.get(endpoint) == enactor:
            del self._holders[endpoint]


@dataclass(frozen=True)
class EnactorTiming:
    """How long an Enactor's steps take, in seconds (a change batch takes an exponential time of this mean)."""

    poll_interval: float = 0.5
    transaction_time: float = 0.2
    lock_retry: float = 0.1


class Enactor:
    def __init__(
        self,
        name: str,
        variant: Variant,
        *,
        store: PlanStore,
        zone: Zone,
        locks: EndpointLocks,
        endpoints: Sequence[str],
        events: EventLog,
        rng: random.Random,
        timing: EnactorTiming,
        ttl: int,
        cleanup_age: int,
        refuse_empty: bool = False,
    ) -> None:
        self.name = name
        self.variant = variant
        self.store = store
        self.zone = zone
        self.locks = locks
        self.endpoints = tuple(endpoints)
        self.events = events
        self.rng = rng
        self.timing = timing
        self.ttl = ttl
        self.cleanup_age = cleanup_age
        self.refuse_empty = refuse_empty
        self.source = f"enactor-{name}"
        # The injected fault: extra seconds spent (retrying) before each endpoint's change batch.
        self.delay = 0.0

    def set_delay(self, seconds: float) -> None:
        """Spend `seconds` (retrying) before each endpoint's change batch from now on (0: normal speed)."""
        if not seconds >= 0:
            raise ValueError(f"delay = {seconds}: must be at least 0")
        self.delay = seconds

    def applied_generation(self) -> int:
        """The newest generation on any endpoint: what a new plan must beat."""
        generations = [rs.generation for e in self.endpoints if (rs := self.zone.get(e)) and rs.generation]
        return max(generations, default=0)

    async def run(self) -> None:
        while True:
            await self.enact_once()
            await runtime.sleep(self.timing.poll_interval)

    async def enact_once(self) -> Plan | None:
        """One pick-check-apply-clean-up cycle; returns the plan it applied, if any."""
        plan = self.store.newest()
        applied = self.applied_generation()
        if plan is None or plan.generation <= applied:
            return None
        self._emit(
            EventKind.ENACTOR_PICKED,
            f"picked plan {plan.generation} (applied: {applied})",
            generation=plan.generation,
        )
        for endpoint in self.endpoints:
            await self._apply(plan, endpoint)
        self._clean_up(plan)
        return plan

    async def _apply(self, plan: Plan, endpoint: str) -> None:
        if self.delay > 0:
            await runtime.sleep(self.delay)
        await self._hold(endpoint)
        try:
            await runtime.sleep(self._transaction_time())
            current = self.zone.get(endpoint)
            if current is not None and current.generation is not None:
                if self.variant is Variant.FIXED and current.generation >= plan.generation:
                    self._emit(
                        EventKind.APPLY_SKIPPED,
                        f"skipped plan {plan.generation} for {endpoint}: it already holds "
                        + ("newer " if current.generation > plan.generation else "")
                        + f"plan {current.generation}",
                        generation=plan.generation,
                        endpoint=endpoint,
                        active=current.generation,
                    )
                    return
                if self.variant is Variant.AWS_2025 and current.generation not in self.store:
                    self._emit(
                        EventKind.APPLY_BLOCKED,
                        f"cannot apply plan {plan.generation} to {endpoint}: "
                        f"its active plan {current.generation} no longer exists",
                        generation=plan.generation,
                        endpoint=endpoint,
                        active=current.generation,
                    )
                    return
            if self.refuse_empty and not plan.endpoints[endpoint]:
                self._refused(endpoint, f"plan {plan.generation} has no address for it")
                return
            self.zone.change(
                [
                    Change(
                        Action.UPSERT,
                        RecordSet(endpoint, plan.endpoints[endpoint], self.ttl, plan.generation),
                    )
                ]
            )
            newest = self.store.last_generation
            stale = (
                f" (newest is {newest}: {_plural(newest - plan.generation, 'generation')} stale)"
                if newest > plan.generation
                else ""
            )
            self._emit(
                EventKind.PLAN_APPLIED,
                f"applied plan {plan.generation} to {endpoint}{stale}",
                generation=plan.generation,
                endpoint=endpoint,
                newest=newest,
                replaced=None if current is None else current.generation,
            )
        finally:
            self.locks.release(endpoint, self.name)

    async def _hold(self, endpoint: str) -> None:
        waited_for: str | None = None
        while (holder := self.locks.acquire(endpoint, self.name)) is not None:
            if holder != waited_for:
                self._emit(EventKind.ENDPOINT_HELD, f"waits: {endpoint} is held by enactor-{holder}", endpoint=endpoint)
                waited_for = holder
            await runtime.sleep(self.timing.lock_retry)

    def _clean_up(self, plan: Plan) -> None:
        threshold = plan.generation - self.cleanup_age
        old = [g for g in self.store.generations() if g < threshold]
        in_use = {rs.generation for rs in self.zone.record_sets() if not rs.empty}
        if self.variant is Variant.FIXED:
            old = [g for g in old if g not in in_use]
            emptied: list[RecordSet] = []
        else:
            # The plan's records go with the plan, whether or not an endpoint still points at them.
            emptied = [
                rs
                for rs in self.zone.record_sets()
                if not rs.empty and rs.generation is not None and rs.generation < threshold
            ]
        if emptied and self.refuse_empty:
            for rs in emptied:
                self._refused(rs.name, f"clean-up would delete the records of its active plan {rs.generation}")
            emptied = []
        deleted = self.store.delete(old)
        if deleted or emptied:
            # Reported before the zone change, so the log reads cause first, then the record it emptied.
            self._emit(
                EventKind.CLEANUP,
                f"cleaned up {_plural(len(deleted), 'plan')} older than {threshold}"
                + "".join(
                    f"; deleted the records of plan {rs.generation}, still active on {rs.name}" for rs in emptied
                ),
                after=plan.generation,
                deleted=deleted,
                emptied=[rs.name for rs in emptied],
            )
        if emptied:
            self.zone.change([Change(Action.UPSERT, RecordSet(rs.name, (), rs.ttl, rs.generation)) for rs in emptied])

    def _refused(self, endpoint: str, why: str) -> None:
        self._emit(EventKind.EMPTY_REFUSED, f"refused to leave {endpoint} empty: {why}", endpoint=endpoint)

    def _transaction_time(self) -> float:
        mean = self.timing.transaction_time
        return self.rng.expovariate(1.0 / mean) if mean > 0 else 0.0

    def _emit(self, kind: EventKind, message: str, **data: object) -> None:
        self.events.emit(kind, self.source, f"Enactor {self.name} {message}", enactor=self.name, **data)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
