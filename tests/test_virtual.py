"""Virtual time: the clock jumps to the next timer, runs are exactly repeatable, and real waits still work."""

from __future__ import annotations

import random
import time

import anyio
import anyio.to_thread

from services.virtual import run_in_virtual_time


def test_hours_of_sleep_pass_at_once_and_the_clock_lands_on_each_deadline() -> None:
    """Ten hours of sleeps take no wall time; each sleeper wakes exactly at its own deadline."""
    woke: list[tuple[int, float]] = []

    async def sleeper(i: int) -> None:
        await anyio.sleep(3600.0 * i)
        woke.append((i, anyio.current_time()))

    async def main() -> float:
        async with anyio.create_task_group() as tg:
            for i in (3, 1, 10, 2):
                tg.start_soon(sleeper, i)
        return anyio.current_time()

    started = time.monotonic()
    assert run_in_virtual_time(main) == 36000.0
    assert time.monotonic() - started < 5
    assert woke == [(1, 3600.0), (2, 7200.0), (3, 10800.0), (10, 36000.0)]


def interleaving(seed: int) -> list[tuple[int, float]]:
    order: list[tuple[int, float]] = []

    async def worker(i: int, rng: random.Random) -> None:
        for _ in range(20):
            await anyio.sleep(rng.choice([0.0, 0.001, rng.expovariate(100.0)]))
            order.append((i, anyio.current_time()))

    async def main() -> list[tuple[int, float]]:
        rng = random.Random(seed)
        async with anyio.create_task_group() as tg:
            for i in range(8):
                tg.start_soon(worker, i, random.Random(rng.random()))
        return order

    return run_in_virtual_time(main)


def test_the_same_seed_gives_the_same_interleaving_and_another_seed_another() -> None:
    """Task order (ties included) is a function of the seeded generators alone."""
    assert interleaving(1) == interleaving(1)
    assert len({tuple(interleaving(seed)) for seed in range(5)}) > 1


def test_a_thread_is_waited_for_in_real_time_when_no_timer_is_due() -> None:
    """With no timer pending, the loop really waits for I/O (here a worker thread) instead of hanging or racing."""

    async def main() -> tuple[str, float]:
        answer = await anyio.to_thread.run_sync(lambda: time.sleep(0.05) or "done")
        return answer, anyio.current_time()

    assert run_in_virtual_time(main) == ("done", 0.0)
