"""Server-side policies pinned to their sources, alone and inside the capacity model (virtual time)."""

from __future__ import annotations

import itertools
import random

import pytest
import trio
import trio.testing

from services.node.capacity import CapacityModel, CapacitySpec, Overloaded, ServiceTime, Shed
from services.throttling.admission import (
    AimdLimit,
    ConcurrencyLimit,
    GradientLimit,
    QueueSizeAdmission,
    TokenBucketLimit,
    VegasLimit,
)
from services.throttling.disciplines import CoDel, Lifo, QueueAgeShedding, Waiting


def test_token_bucket_allows_the_burst_then_the_rate() -> None:
    """100/s with a burst of 10: ten at once, then one per 10 ms."""
    bucket = TokenBucketLimit(rate=100, burst=10)
    assert [bucket.admit(0.0, 0, 0) for _ in range(11)] == [True] * 10 + [False]
    assert bucket.admit(0.0101, 0, 0) and not bucket.admit(0.0102, 0, 0)


def test_fixed_limits_count_what_they_say() -> None:
    """A concurrency limit counts in service + queued; queue-size admission counts only the queue."""
    assert ConcurrencyLimit(limit=10).admit(0, 6, 3) and not ConcurrencyLimit(limit=10).admit(0, 6, 4)
    assert QueueSizeAdmission(max_queue=5).admit(0, 1000, 4) and not QueueSizeAdmission(max_queue=5).admit(0, 0, 5)


def test_aimd_backs_off_multiplicatively_and_grows_additively() -> None:
    """A drop multiplies the limit by 0.9; a busy success adds 1; bounds 20..200."""
    aimd = AimdLimit(limit=100)
    aimd.on_done(0, 0.01, True, 50)
    assert aimd.limit == pytest.approx(90)
    aimd.on_done(0, 0.01, False, 80)
    assert aimd.limit == pytest.approx(91)
    aimd.on_done(0, 6.0, False, 80)  # slower than the 5 s timeout counts as a drop
    assert aimd.limit == pytest.approx(81.9)
    for _ in range(100):
        aimd.on_done(0, 0.01, True, 10)
    assert aimd.limit == 20


def test_vegas_grows_without_queueing_and_shrinks_with_it() -> None:
    """Latency at the no-load RTT grows the limit; latency that implies a queue above 6·log10(limit) shrinks it."""
    vegas = VegasLimit(limit=20)
    vegas.on_done(0, 0.010, False, 15)
    grown = vegas.limit
    assert grown > 20
    vegas.on_done(0, 0.050, False, int(grown))
    assert vegas.limit < grown


def test_gradient_limit_follows_the_rtt_gradient() -> None:
    """Steady RTT lets the limit grow by the queue allowance; an RTT spike pulls it down (gradient ≥ 0.5)."""
    gradient = GradientLimit(limit=50)
    for _ in range(50):
        gradient.on_done(0, 0.010, False, 40)
    steady = gradient.limit
    assert steady > 50
    for _ in range(20):
        gradient.on_done(0, 0.100, False, int(steady))
    assert gradient.limit < steady


def waiting(*ages: float, now: float = 1.0) -> list[Waiting[int]]:
    return [Waiting(now - age, i) for i, age in enumerate(ages)]


def test_lifo_and_queue_age_shedding() -> None:
    """LIFO serves the newest; queue-age shedding drops what waited longer than 100 ms."""
    lifo: Lifo[int] = Lifo()
    for entry in waiting(0.3, 0.2, 0.1):
        lifo.push(entry)
    assert [lifo.pop(1.0)[0].item for _ in range(3)] == [2, 1, 0]  # type: ignore[union-attr]
    aged: QueueAgeShedding[int] = QueueAgeShedding()
    for entry in waiting(0.3, 0.2, 0.05):
        aged.push(entry)
    served, dropped = aged.pop(1.0)
    assert served is not None and served.item == 2 and [d.item for d in dropped] == [0, 1]


def test_codel_drops_only_after_the_target_is_exceeded_for_an_interval() -> None:
    """Sojourn above 5 ms for less than 100 ms: no drop; for a full interval: drops, then faster (interval/√n)."""
    codel: CoDel[int] = CoDel()
    t = 0.0
    for i in range(400):
        codel.push(Waiting(t - 0.020, i))  # everything has already waited 20 ms
        t += 0.001
    drops: list[float] = []
    now = 0.0
    while len(codel) and now < 0.35:
        _served, dropped = codel.pop(now)
        drops += [now] * len(dropped)
        now += 0.002
    assert drops and min(drops) >= 0.1  # nothing before a whole interval above target
    gaps = [b - a for a, b in itertools.pairwise(drops) if b > a]
    assert gaps[0] > gaps[-1]  # drops come faster as count grows
    calm: CoDel[int] = CoDel()
    for i in range(100):
        calm.push(Waiting(i * 0.001 - 0.001, i))  # 1 ms sojourn: below target
    assert all(not calm.pop(i * 0.001)[1] for i in range(100))


async def test_the_capacity_model_uses_admission_and_discipline(autojump_clock: trio.testing.MockClock) -> None:
    """A queue-size admission refuses early; queue-age shedding drops queued work, reported as Shed."""
    spec = CapacitySpec(workers=1, service_time=ServiceTime("constant", 0.05), queue_limit=1000)
    model = CapacityModel(
        spec, random.Random(1), admission=QueueSizeAdmission(max_queue=5), discipline=QueueAgeShedding()
    )
    outcomes: list[str] = []

    async def one() -> None:
        try:
            await model.serve(None, nothing)
            outcomes.append("ok")
        except Overloaded:
            outcomes.append("refused")
        except Shed:
            outcomes.append("shed")

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(one)
    assert outcomes.count("refused") == 14  # 1 in service + 5 queued admitted
    assert outcomes.count("shed") >= 3 and model.stats.totals["shed"] == outcomes.count("shed")


async def nothing() -> None:
    return None
