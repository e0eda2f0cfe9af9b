"""Seed-exact scheduling: trio's private determinism hook still does what services.virtual relies on."""

from __future__ import annotations

import trio
import trio.lowlevel

from services.virtual import deterministic_scheduling, run_in_virtual_time


def interleaving(seed: int) -> list[int]:
    order: list[int] = []

    async def worker(i: int) -> None:
        for _ in range(5):
            order.append(i)
            await trio.lowlevel.checkpoint()

    async def main() -> list[int]:
        async with trio.open_nursery() as nursery:
            for i in range(8):
                nursery.start_soon(worker, i)
        return order

    return run_in_virtual_time(main, seed)


def test_the_same_seed_gives_the_same_interleaving_and_another_seed_another() -> None:
    """Task order is a function of the seed: equal seeds agree, and the seeds explore different orders."""
    assert interleaving(1) == interleaving(1)
    assert len({tuple(interleaving(seed)) for seed in range(5)}) > 1


def test_the_hook_is_restored_afterwards() -> None:
    """deterministic_scheduling leaves trio's flag as it found it."""
    from trio._core import _run

    before = _run._ALLOW_DETERMINISTIC_SCHEDULING
    with deterministic_scheduling(3):
        assert _run._ALLOW_DETERMINISTIC_SCHEDULING is True
    assert before == _run._ALLOW_DETERMINISTIC_SCHEDULING
