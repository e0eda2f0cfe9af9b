"""The capacity model against queueing theory, in virtual time, over long runs with a fixed seed."""

from __future__ import annotations

import itertools
import math
import random
import statistics
from collections.abc import Awaitable

import pytest
import trio
import trio.testing

from services import runtime
from services.node.capacity import CapacityModel, CapacitySpec, DeadlineExceeded, Overloaded, ServiceTime
from services.runtime.seam import ANYIO


async def nothing() -> None:
    return None


async def poisson_load(
    model: CapacityModel, rate: float, duration: float, seed: int, deadline_after: float | None = None
) -> list[float]:
    """Offer Poisson arrivals at `rate`/s for `duration` s; return the sojourn time of each completed request."""
    rng = random.Random(seed)
    sojourns: list[float] = []

    async def one() -> None:
        start = trio.current_time()
        deadline = None if deadline_after is None else start + deadline_after
        try:
            await model.serve(deadline, nothing)
        except (Overloaded, DeadlineExceeded):
            return
        sojourns.append(trio.current_time() - start)

    async with trio.open_nursery() as nursery:
        end = trio.current_time() + duration
        while True:
            await trio.sleep(rng.expovariate(rate))
            if trio.current_time() >= end:
                break
            nursery.start_soon(one)
    return sojourns


def erlang_c_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C): Wq = C(c, a) / (c·μ - λ)."""
    a = arrival_rate / service_rate
    rho = a / servers
    tail = a**servers / math.factorial(servers) / (1 - rho)
    p_wait = tail / (sum(a**k / math.factorial(k) for k in range(servers)) + tail)
    return p_wait / (servers * service_rate - arrival_rate)


async def test_mm1_sojourn_matches_theory(autojump_clock: trio.testing.MockClock) -> None:
    """M/M/1 at ρ = 0.8: mean time in system 1/(μ-λ) = 50 ms, and throughput equals the arrival rate."""
    model = CapacityModel(
        CapacitySpec(workers=1, service_time=ServiceTime("exponential", 0.01), queue_limit=10**6), random.Random(1)
    )
    sojourns = await poisson_load(model, rate=80, duration=300, seed=2)
    assert statistics.fmean(sojourns) == pytest.approx(1 / (100 - 80), rel=0.1)
    assert len(sojourns) / 300 == pytest.approx(80, rel=0.03)


async def test_md1_wait_follows_pollaczek_khinchine(autojump_clock: trio.testing.MockClock) -> None:
    """M/D/1 at ρ = 0.8: Wq = ρ / (2μ(1-ρ)) = 20 ms, half the M/M/1 wait: service variability matters."""
    model = CapacityModel(
        CapacitySpec(workers=1, service_time=ServiceTime("constant", 0.01), queue_limit=10**6), random.Random(1)
    )
    sojourns = await poisson_load(model, rate=80, duration=300, seed=3)
    mean_wait = statistics.fmean(sojourns) - 0.01
    assert mean_wait == pytest.approx(0.8 / (2 * 100 * 0.2), rel=0.1)


async def test_mmc_wait_follows_erlang_c(autojump_clock: trio.testing.MockClock) -> None:
    """M/M/4 at ρ = 0.75: the mean queueing delay matches Erlang C."""
    model = CapacityModel(
        CapacitySpec(workers=4, service_time=ServiceTime("exponential", 0.01), queue_limit=10**6), random.Random(4)
    )
    sojourns = await poisson_load(model, rate=300, duration=150, seed=5)
    expected = erlang_c_wait(300, 100, 4)
    assert statistics.fmean(sojourns) - 0.01 == pytest.approx(expected, rel=0.12)


async def test_overload_is_capped_at_capacity_and_the_excess_rejected(autojump_clock: trio.testing.MockClock) -> None:
    """Offered 2× capacity: completions hold at workers/mean service time, the queue never exceeds its bound."""
    spec = CapacitySpec(workers=2, service_time=ServiceTime("exponential", 0.01), queue_limit=20)
    model = CapacityModel(spec, random.Random(6))
    sojourns = await poisson_load(model, rate=400, duration=60, seed=7)
    assert len(sojourns) / 60 == pytest.approx(200, rel=0.05)
    totals = model.stats.totals
    assert totals["rejected"] == pytest.approx(totals["arrivals"] / 2, rel=0.1)
    assert max(s.queue_depth for s in model.stats.closed_seconds()) <= 20
    assert max(sojourns) < 1.0  # a bounded queue bounds the wait


async def test_naive_nodes_do_expired_work_and_deadline_aware_nodes_drop_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Overloaded with 50 ms deadlines: a naive node's goodput collapses; drop_expired keeps it up."""
    goodput = {}
    for drop in (False, True):
        spec = CapacitySpec(workers=1, service_time=ServiceTime("constant", 0.01), queue_limit=1000, drop_expired=drop)
        model = CapacityModel(spec, random.Random(8))
        await poisson_load(model, rate=150, duration=30, seed=9, deadline_after=0.05)
        totals = model.stats.totals
        assert totals["expired"] > 0
        if drop:
            assert totals["dropped"] == totals["expired"]
        else:
            assert totals["dropped"] == 0 and totals["wasted"] >= totals["expired"]
        goodput[drop] = totals["completed"] - totals["wasted"]
    assert goodput[True] > 10 * goodput[False]


async def test_per_second_rows_add_up_to_the_totals(autojump_clock: trio.testing.MockClock) -> None:
    """Each closed second has counters and latency percentiles; summed they equal the totals."""
    model = CapacityModel(CapacitySpec(workers=8, service_time=ServiceTime("exponential", 0.01)), random.Random(10))
    await poisson_load(model, rate=100, duration=20, seed=11)
    await trio.sleep(1)
    seconds = model.stats.closed_seconds()
    assert [s.second for s in seconds] == list(range(len(seconds))) and len(seconds) >= 20
    assert sum(s.counts["completed"] for s in seconds) == model.stats.totals["completed"]
    busy = [s for s in seconds if s.counts["completed"]]
    assert all(s.latency_p50 is not None and s.latency_p50 <= (s.latency_p99 or 0) for s in busy)


def test_lognormal_is_fitted_to_mean_and_p99() -> None:
    """A lognormal given mean 10 ms and p99 50 ms samples with that mean and that 99th percentile."""
    service = ServiceTime("lognormal", 0.010, 0.050)
    rng = random.Random(12)
    samples = sorted(service.sample(rng) for _ in range(200_000))
    assert statistics.fmean(samples) == pytest.approx(0.010, rel=0.02)
    assert samples[int(0.99 * len(samples))] == pytest.approx(0.050, rel=0.03)
    with pytest.raises(ValueError, match="at most"):
        ServiceTime("lognormal", 0.001, 1.0)


class LateTimers:
    """anyio's backend, except that every timer fires LATE seconds after its time, as a busy live loop's do."""

    LATE = 0.001

    def __getattr__(self, name: str) -> object:
        return getattr(ANYIO, name)

    def sleep(self, seconds: float) -> Awaitable[None]:
        return ANYIO.sleep(seconds + self.LATE)

    def sleep_until(self, deadline: float) -> Awaitable[None]:
        return ANYIO.sleep_until(deadline + self.LATE)


async def test_late_timers_do_not_add_up_along_a_queue(autojump_clock: trio.testing.MockClock) -> None:
    """With every timer 1 ms late, 100 queued requests of 4 ms on one worker end at 0.4 s plus one lateness (not
    100 of them), and none is served faster than its 4 ms."""
    model = CapacityModel(CapacitySpec(1, ServiceTime("constant", 0.004), queue_limit=1000), random.Random(1))
    start = trio.current_time()
    ends: list[float] = []

    async def one() -> None:
        await model.serve(None, nothing)
        ends.append(trio.current_time() - start)

    with runtime.installed(LateTimers()):  # type: ignore[arg-type]
        async with trio.open_nursery() as nursery:
            for _ in range(100):
                nursery.start_soon(one)
    ends.sort()
    assert ends[-1] == pytest.approx(0.400 + LateTimers.LATE, abs=1e-6)
    assert all(later - earlier >= 0.004 - 1e-9 for earlier, later in itertools.pairwise(ends))


async def test_a_request_after_an_idle_spell_is_not_served_before_it_came(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A request that finds its node idle (or the slot free before it came) starts its service when it arrives."""
    model = CapacityModel(CapacitySpec(1, ServiceTime("constant", 0.004), queue_limit=1000), random.Random(1))
    sojourns: list[float] = []

    async def one() -> None:
        began = trio.current_time()
        await model.serve(None, nothing)
        sojourns.append(trio.current_time() - began)

    with runtime.installed(LateTimers()):  # type: ignore[arg-type]
        async with trio.open_nursery() as nursery:
            for gap in (0.0, 0.0042, 0.0042, 0.05):  # the second comes as the first ends on the model's schedule
                await trio.sleep(gap)
                nursery.start_soon(one)
    assert min(sojourns) >= 0.004 + LateTimers.LATE - 1e-9
