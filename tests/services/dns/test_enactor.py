"""The two Enactor variants, step by step: stale writes, clean-up of plans in use, blocked applies, locks."""

from __future__ import annotations

import random

import trio
import trio.testing

from services.dns.enactor import Enactor, EnactorTiming, EndpointLocks, Variant
from services.dns.plans import PlanStore
from services.dns.zone import Action, Change, RecordSet, WeightedAddress, Zone
from services.event_kinds import EventKind
from services.events import EventLog
from tests.helpers import of_kind

E = "dynamodb.us-east-1.cloud.test"
E2 = "dynamodb.us-east-1.api.cloud.test"
OLD = (WeightedAddress("127.0.1.1"),)
NEW = (WeightedAddress("127.0.1.2"),)


def setup(variant: Variant, generations: int = 30) -> tuple[Enactor, PlanStore, Zone, EventLog]:
    store, zone = PlanStore(), Zone()
    for g in range(1, generations + 1):
        publish(store, OLD if g < generations else NEW)
    events = EventLog(trio.current_time)
    enactor = Enactor(
        "A",
        variant,
        store=store,
        zone=zone,
        locks=EndpointLocks(),
        endpoints=(E,),
        events=events,
        rng=random.Random(1),
        timing=EnactorTiming(transaction_time=0.0),
        ttl=5,
        cleanup_age=10,
    )
    return enactor, store, zone, events


def publish(store: PlanStore, addresses: tuple[WeightedAddress, ...] = NEW) -> None:
    store.publish({E: addresses, E2: addresses}, now=0.0)


def write(zone: Zone, generation: int, addresses: tuple[WeightedAddress, ...] = NEW) -> None:
    zone.change([Change(Action.UPSERT, RecordSet(E, addresses, 5, generation))])


async def test_aws_2025_checks_freshness_only_at_the_start(autojump_clock: trio.testing.MockClock) -> None:
    """A plan that was newest when picked is written even if a newer one landed while the Enactor was slow."""
    enactor, store, zone, _ = setup(Variant.AWS_2025)
    write(zone, 25)
    enactor.delay = 5.0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(enactor.enact_once)
        await trio.sleep(1)
        for _ in range(10):
            publish(store)
        write(zone, 40)  # another Enactor applies plan 40 meanwhile
    record = zone.get(E)
    assert record is not None and record.generation == 30


async def test_fixed_refuses_to_overwrite_a_newer_generation(autojump_clock: trio.testing.MockClock) -> None:
    """The conditional write skips a plan older than what the record holds."""
    enactor, store, zone, events = setup(Variant.FIXED)
    write(zone, 25)
    enactor.delay = 5.0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(enactor.enact_once)
        await trio.sleep(1)
        for _ in range(10):
            publish(store)
        write(zone, 40)
    record = zone.get(E)
    assert record is not None and record.generation == 40
    assert [e.kind for e in events.events if e.kind == EventKind.APPLY_SKIPPED] == [EventKind.APPLY_SKIPPED]


async def test_aws_2025_clean_up_empties_a_record_whose_plan_is_old(autojump_clock: trio.testing.MockClock) -> None:
    """Clean-up deletes plans older than newest - cleanup_age together with the records they wrote."""
    enactor, store, zone, events = setup(Variant.AWS_2025)
    enactor.endpoints = (E2,)  # it applies plan 30 elsewhere; E still holds the stale plan 3
    write(zone, 3, OLD)
    await enactor.enact_once()
    record = zone.get(E)
    assert record is not None and record.empty and record.generation == 3
    assert 3 not in store
    assert of_kind(events, EventKind.CLEANUP)[0].data["emptied"] == [E]


async def test_fixed_clean_up_keeps_plans_that_records_use(autojump_clock: trio.testing.MockClock) -> None:
    """The fixed clean-up deletes old plans, except one a record still references, and never touches records."""
    enactor, store, zone, _ = setup(Variant.FIXED)
    enactor.endpoints = (E2,)
    write(zone, 3, OLD)
    await enactor.enact_once()
    record = zone.get(E)
    assert record is not None and not record.empty and 3 in store
    assert 4 not in store


async def test_aws_2025_apply_is_blocked_once_the_active_plan_is_gone(autojump_clock: trio.testing.MockClock) -> None:
    """A record tagged with a deleted plan blocks every later apply to it (the state operators had to repair)."""
    enactor, store, zone, events = setup(Variant.AWS_2025)
    zone.change([Change(Action.UPSERT, RecordSet(E, (), 5, 3))])
    store.delete([3])
    await enactor.enact_once()
    record = zone.get(E)
    assert record is not None and record.empty
    assert of_kind(events, EventKind.APPLY_BLOCKED)[0].data["active"] == 3


async def test_an_endpoint_held_by_another_enactor_is_retried(autojump_clock: trio.testing.MockClock) -> None:
    """While B holds the endpoint, A waits and retries; it applies once B lets go."""
    enactor, _, zone, events = setup(Variant.AWS_2025)
    enactor.locks.acquire(E, "B")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(enactor.enact_once)
        await trio.sleep(2)
        assert zone.get(E) is None
        enactor.locks.release(E, "B")
    assert of_kind(events, EventKind.ENDPOINT_HELD)[0].message.endswith("held by enactor-B")
    record = zone.get(E)
    assert record is not None and record.generation == 30
