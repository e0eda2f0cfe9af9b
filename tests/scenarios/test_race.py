"""The 2025 race, in virtual time: it emerges from a slow Enactor plus Planner churn, and only for aws-2025."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from scenarios.config.schema import Scenario
from services import runtime
from services.dns import REGIONAL, DnsControlPlane, DnsSettings, EnactorTiming, RouterTarget, Variant
from services.event_kinds import EventKind
from services.events import EventLog
from services.net.virtual_network import VirtualNetwork
from services.runtime.kernel import run_in_virtual_time
from tests.helpers import run_virtual, shipped

ROUTERS = [RouterTarget(f"router-{i}", (f"127.0.1.{i}", 8000)) for i in (1, 2, 3)]


class AllHealthy:
    """A health probe that passes every router, so the property test spends no time on HTTP."""

    async def __call__(self, routers: Sequence[RouterTarget]) -> dict[str, int]:
        return {r.name: 1 for r in routers}


def race_scenario() -> Scenario:
    return shipped("dns-race")


def summary(events: EventLog) -> list[tuple[float, str, str]]:
    return [(round(e.t, 9), e.kind, e.message) for e in events.events]


def test_race_scenario_empties_the_regional_record_and_blocks_later_applies() -> None:
    """dns-race.toml: A lands a stale plan, a clean-up deletes it while active, and later applies are blocked."""
    run = run_virtual(race_scenario())
    events = run.events.events
    emptied = next(e for e in events if e.kind == EventKind.RECORD_EMPTIED and e.data["name"] == REGIONAL)
    stale_apply = [
        e
        for e in events
        if e.kind == EventKind.PLAN_APPLIED
        and e.data["enactor"] == "A"
        and e.data["endpoint"] == REGIONAL
        and e.data["generation"] == emptied.data["generation"]
    ][-1]
    cleanup = next(e for e in events if e.kind == EventKind.CLEANUP and REGIONAL in e.data["emptied"])
    blocked = [e for e in events if e.kind == EventKind.APPLY_BLOCKED and e.data["endpoint"] == REGIONAL]
    restored = next(e for e in events if e.kind == EventKind.OPERATOR_ACTION)
    newer_applies_before = [
        e
        for e in events
        if e.kind == EventKind.PLAN_APPLIED
        and e.data["enactor"] != "A"
        and e.t < stale_apply.t
        and e.data["generation"] > stale_apply.data["generation"] + 10
    ]
    assert newer_applies_before, "another Enactor applied a much newer plan before A's stale one landed"
    assert stale_apply.t <= cleanup.t == emptied.t
    assert stale_apply.data["newest"] - stale_apply.data["generation"] > 10
    # Blocking starts once a clean-up has deleted the active plan from the store, which may be a moment before
    # the clean-up that deletes its records; it lasts until the operators' repair.
    assert blocked and all(stale_apply.t < e.t < restored.t for e in blocked)
    assert sum(e.t > emptied.t for e in blocked) > 10
    assert {e.data["enactor"] for e in blocked} >= {"B", "C"}
    assert emptied.t < 60, "the race emerges within about a minute"
    regional = run.cloud.dns.zone.get(REGIONAL)
    assert regional is not None and not regional.empty, "restore_dns repaired the record"


def test_race_replays_exactly_from_its_seed() -> None:
    """Two virtual runs of the same scenario and seed produce the same events at the same times."""
    first = summary(run_virtual(race_scenario(), duration=30).events)
    second = summary(run_virtual(race_scenario(), duration=30).events)
    assert first == second
    assert any(kind == EventKind.RECORD_EMPTIED for _, kind, _ in first)


def test_fixed_enactors_never_empty_the_record_under_the_same_faults() -> None:
    """dns-race-fixed.toml: A's stale writes are refused and no clean-up empties a record."""
    run = run_virtual(shipped("dns-race-fixed"))
    kinds = {e.kind for e in run.events.events}
    assert EventKind.RECORD_EMPTIED not in kinds and EventKind.APPLY_BLOCKED not in kinds
    assert any(e.kind == EventKind.APPLY_SKIPPED and e.data["enactor"] == "A" for e in run.events.events)


@dataclass(frozen=True)
class Timings:
    """One randomised draw of everything that decides whether the race happens."""

    plan_interval: float
    churn_interval: float
    churn_at: float
    delay: float
    delay_at: float
    transaction_time: float
    poll_interval: float
    seed: int

    @classmethod
    def draw(cls, rng: random.Random) -> Timings:
        return cls(
            plan_interval=rng.uniform(0.5, 3.0),
            churn_interval=rng.uniform(0.1, 2.0),
            churn_at=rng.uniform(0, 10),
            delay=rng.choice([0.0, rng.uniform(0, 2), rng.uniform(0, 8)]),
            delay_at=rng.uniform(0, 10),
            transaction_time=rng.uniform(0.02, 0.5),
            poll_interval=rng.uniform(0.1, 1.0),
            seed=rng.randrange(1 << 30),
        )


def empties_record(variant: Variant, timings: Timings, horizon: float = 30.0) -> bool:
    """Run Planner + three Enactors with these timings; whether any endpoint record ever went empty."""

    async def main() -> bool:
        events = EventLog(runtime.current_time)
        settings = DnsSettings(
            plan_interval=timings.plan_interval,
            variant=variant,
            timing=EnactorTiming(timings.poll_interval, timings.transaction_time, 0.1),
        )
        plane = DnsControlPlane(
            VirtualNetwork(),
            events,
            settings,
            ROUTERS,
            lambda c: random.Random(f"{timings.seed}:{c}"),
            AllHealthy(),
        )
        with runtime.move_on_after(horizon):
            async with runtime.create_task_group() as tg:
                await tg.start(plane.run)
                await runtime.sleep(min(timings.churn_at, timings.delay_at))
                if timings.churn_at <= timings.delay_at:
                    plane.planner.plan_interval = timings.churn_interval
                    await runtime.sleep(timings.delay_at - timings.churn_at)
                    plane.enactors["A"].delay = timings.delay
                else:
                    plane.enactors["A"].delay = timings.delay
                    await runtime.sleep(timings.churn_at - timings.delay_at)
                    plane.planner.plan_interval = timings.churn_interval
        return any(e.kind == EventKind.RECORD_EMPTIED for e in events.events)

    return run_in_virtual_time(main)


@pytest.mark.parametrize("count", [pytest.param(1000, marks=pytest.mark.slow), 250])
def test_over_random_timings_only_aws_2025_ever_empties_the_record(count: int) -> None:
    """1,000 random Enactor/Planner timings (250 in the default run): aws-2025 empties the record in some, fixed
    in none."""
    rng = random.Random(20251019)
    draws = [Timings.draw(rng) for _ in range(count)]
    aws = sum(empties_record(Variant.AWS_2025, t) for t in draws)
    fixed = sum(empties_record(Variant.FIXED, t) for t in draws)
    figures = f"record emptied: aws-2025 in {aws}/{count} runs, fixed in {fixed}/{count} runs"
    assert fixed == 0, figures
    assert 0 < aws < count, figures
