"""Virtual time: run async code under trio's MockClock, with seed-exact task scheduling.

trio shuffles runnable tasks at every scheduler tick, from a module-level `random.Random`. Its Hypothesis plugin
makes that shuffle reproducible by sorting each batch by task creation order and then shuffling with the seeded
generator (`trio._core._run._ALLOW_DETERMINISTIC_SCHEDULING` and `_r`). Both are private, so this is the one place
that touches them; tests/test_virtual.py checks that the hook still holds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import trio
import trio.testing
from trio._core import _run as trio_run_module

T = TypeVar("T")


@contextmanager
def deterministic_scheduling(seed: int) -> Iterator[None]:
    """Make trio's scheduler order a function of `seed` for the duration of the block."""
    previous_flag = trio_run_module._ALLOW_DETERMINISTIC_SCHEDULING
    previous_state = trio_run_module._r.getstate()
    trio_run_module._ALLOW_DETERMINISTIC_SCHEDULING = True  # type: ignore[misc]
    trio_run_module._r.seed(seed)
    try:
        yield
    finally:
        trio_run_module._r.setstate(previous_state)
        trio_run_module._ALLOW_DETERMINISTIC_SCHEDULING = previous_flag  # type: ignore[misc]


def run_in_virtual_time(main: Callable[[], Awaitable[T]], seed: int) -> T:
    """Run `main` under a MockClock that jumps ahead whenever every task is blocked."""
    with deterministic_scheduling(seed):
        return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
