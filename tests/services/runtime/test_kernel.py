"""Virtual time: the kernel's clock jumps to the next timer, runs are exactly repeatable, and it keeps trio's rules
for cancel scopes, deadlines and task groups."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from services import runtime
from services.runtime.kernel import StalledError, run_in_virtual_time


def test_hours_of_sleep_pass_at_once_and_the_clock_lands_on_each_deadline() -> None:
    """Ten hours of sleeps take no wall time; each sleeper wakes exactly at its own deadline."""
    woke: list[tuple[int, float]] = []

    async def sleeper(i: int) -> None:
        await runtime.sleep(3600.0 * i)
        woke.append((i, runtime.current_time()))

    async def main() -> float:
        async with runtime.create_task_group() as tg:
            for i in (3, 1, 10, 2):
                tg.start_soon(sleeper, i)
        return runtime.current_time()

    started = time.monotonic()
    assert run_in_virtual_time(main) == 36000.0
    assert time.monotonic() - started < 5
    assert woke == [(1, 3600.0), (2, 7200.0), (3, 10800.0), (10, 36000.0)]


def interleaving(seed: int) -> list[tuple[int, float]]:
    order: list[tuple[int, float]] = []

    async def worker(i: int, rng: random.Random) -> None:
        for _ in range(20):
            await runtime.sleep(rng.choice([0.0, 0.001, rng.expovariate(100.0)]))
            order.append((i, runtime.current_time()))

    async def main() -> list[tuple[int, float]]:
        rng = random.Random(seed)
        async with runtime.create_task_group() as tg:
            for i in range(8):
                tg.start_soon(worker, i, random.Random(rng.random()))
        return order

    return run_in_virtual_time(main)


def test_the_same_seed_gives_the_same_interleaving_and_another_seed_another() -> None:
    """Task order (ties included) is a function of the seeded generators alone."""
    assert interleaving(1) == interleaving(1)
    assert len({tuple(interleaving(seed)) for seed in range(5)}) > 1


def test_the_kernel_serves_the_seam_only_while_it_runs() -> None:
    """Inside a run the seam reads the kernel's clock; outside it, anyio's again (live runs and trio tests)."""

    async def main() -> float:
        await runtime.sleep(2.5)
        return runtime.current_time()

    assert run_in_virtual_time(main) == 2.5
    with pytest.raises(Exception, match="asynchronous event loop"):
        runtime.current_time()


def test_fail_after_raises_timeout_at_its_deadline_and_move_on_after_just_stops() -> None:
    """A deadline cancels what is inside its scope at that simulated instant, and nothing outside it."""
    seen: list[tuple[str, float]] = []

    async def main() -> None:
        try:
            with runtime.fail_after(1.5):
                await runtime.sleep(10)
        except TimeoutError:
            seen.append(("timeout", runtime.current_time()))
        with runtime.move_on_after(2) as scope:
            await runtime.sleep_forever()
        seen.append(("moved on", runtime.current_time()))
        assert scope.cancelled_caught
        with runtime.fail_after(5):
            await runtime.sleep(1)  # in time: no error
        seen.append(("in time", runtime.current_time()))

    run_in_virtual_time(main)
    assert seen == [("timeout", 1.5), ("moved on", 3.5), ("in time", 4.5)]


def test_cancelling_a_task_group_cancels_its_children_and_a_shield_holds() -> None:
    """A cancelled scope reaches every task inside it, nested scopes too; a shielded scope finishes its work."""
    ended: list[tuple[str, float]] = []

    async def child(name: str) -> None:
        try:
            await runtime.sleep(100)
        finally:
            with runtime.CancelScope(shield=True):
                await runtime.sleep(1)  # clean-up that needs time, as a client's close does
            ended.append((name, runtime.current_time()))

    async def main() -> None:
        async with runtime.create_task_group() as tg:
            tg.start_soon(child, "a")
            tg.start_soon(child, "b")
            await runtime.sleep(3)
            tg.cancel_scope.cancel()
        ended.append(("group", runtime.current_time()))

    run_in_virtual_time(main)
    assert ended == [("a", 4.0), ("b", 4.0), ("group", 4.0)]


def test_an_error_in_a_child_cancels_its_siblings_and_comes_out_as_a_group() -> None:
    """As in anyio: the first error cancels the rest of the group, and the group raises it in an exception group."""
    cancelled: list[float] = []

    async def sibling() -> None:
        try:
            await runtime.sleep_forever()
        finally:
            cancelled.append(runtime.current_time())

    async def failing() -> None:
        await runtime.sleep(2)
        raise ValueError("boom")

    async def main() -> None:
        async with runtime.create_task_group() as tg:
            tg.start_soon(sibling)
            tg.start_soon(failing)

    with pytest.raises(ExceptionGroup) as caught:
        run_in_virtual_time(main)
    assert [type(e) for e in caught.value.exceptions] == [ValueError]
    assert cancelled == [2.0]


def test_start_returns_what_the_child_reports_and_an_event_wakes_its_waiters() -> None:
    """`start` waits for task_status.started(value); Event.set wakes every waiter at that instant."""
    woke: list[float] = []

    async def server(
        event: runtime.Event, *, task_status: runtime.TaskStatus[str] = runtime.TASK_STATUS_IGNORED
    ) -> None:
        await runtime.sleep(1)
        task_status.started("listening")
        await runtime.sleep(2)
        event.set()

    async def waiter(event: runtime.Event) -> None:
        await event.wait()
        woke.append(runtime.current_time())

    async def main() -> str:
        event = runtime.Event()
        async with runtime.create_task_group() as tg:
            tg.start_soon(waiter, event)
            tg.start_soon(waiter, event)
            answer: str = await tg.start(server, event)
            assert runtime.current_time() == 1.0
        return answer

    assert run_in_virtual_time(main) == "listening"
    assert woke == [3.0, 3.0]


def test_a_run_where_nothing_can_ever_happen_says_so() -> None:
    """Every task waiting on an event nobody sets, with no timer: a clear error instead of a hang."""

    async def main() -> None:
        await runtime.Event().wait()

    with pytest.raises(StalledError, match="stalled"):
        run_in_virtual_time(main)


def test_a_signal_reaches_the_receiver_between_two_steps() -> None:
    """SIGINT during a virtual run is delivered to the run's signal receiver, which can stop the run cleanly."""

    async def main() -> tuple[int, float]:
        async with runtime.create_task_group() as tg:
            with runtime.open_signal_receiver(signal.SIGINT) as signals:

                async def busy() -> None:
                    for i in range(1_000_000):
                        if i == 10:
                            os.kill(os.getpid(), signal.SIGINT)
                        await runtime.sleep(0.001)

                tg.start_soon(busy)
                async for signum in signals:
                    tg.cancel_scope.cancel()
                    return signum, runtime.current_time()
        raise AssertionError("no signal came")

    signum, at = run_in_virtual_time(main)
    assert signum == signal.SIGINT
    assert 0.009 < at < 0.1
