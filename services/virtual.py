"""Virtual time: run async code on a clock that jumps to the next deadline, with seed-exact task scheduling.

`JumpClock` has the semantics of `trio.testing.MockClock(autojump_threshold=0)` (when no task can run, time
jumps to the next deadline) without MockClock's autojump machinery, a system task woken at every jump, which cost
a fifth of a long virtual run.

trio shuffles runnable tasks at every scheduler tick, from a module-level `random.Random`. Its Hypothesis plugin
makes that shuffle reproducible by sorting each batch by task creation order and then shuffling with the seeded
generator (`trio._core._run._ALLOW_DETERMINISTIC_SCHEDULING` and `_r`). Both are private, so this is the one place
that touches them; tests/test_virtual.py checks that the hook still holds.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import trio
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


class JumpClock(trio.abc.Clock):
    """Virtual time starting at 0 that jumps straight to the next deadline whenever no task can run.

    trio asks the clock how long to wait for I/O only when its run queue is empty; the answer here is "not at all,
    it is already that time". With no deadline at all (only real I/O, such as a thread, is pending) it waits for
    the I/O in real time.
    """

    def __init__(self) -> None:
        self._now = 0.0

    def start_clock(self) -> None:
        pass

    def current_time(self) -> float:
        return self._now

    def deadline_to_sleep_time(self, deadline: float) -> float:
        if math.isinf(deadline):
            return 86400.0
        self._now = max(self._now, deadline)
        return 0.0


def run_in_virtual_time(main: Callable[[], Awaitable[T]], seed: int) -> T:
    """Run `main` on a JumpClock, with scheduling fixed by `seed`."""
    with deterministic_scheduling(seed):
        return trio.run(main, clock=JumpClock())
