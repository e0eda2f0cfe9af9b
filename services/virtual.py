"""Virtual time: run async code on an event loop whose clock jumps to the next timer whenever nothing can run.

Virtual runs use anyio's asyncio backend on `VirtualEventLoop`, an asyncio selector loop with two changes, both
through its public seams: `time()` reads a virtual clock that starts at 0, and its selector, asked to wait for
I/O until the next timer, polls instead and moves the clock to that timer. With nothing scheduled at all (only a
thread or a signal pending) it waits in real time. The service code is the same anyio code that live runs serve
on trio.

Why asyncio, when tests and live runs use trio: a wake-up from a sleep costs about a third of trio's (measured here:
95,000 against 32,000 per wall second for bare sleeps, even with a trio clock that jumps without MockClock's
autojump task), and a 14-hour replay is millions of them. asyncio runs ready callbacks first in, first out and
breaks timer ties by the order they were set, so the same seed gives the same run.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

T = TypeVar("T")


class _JumpingSelector(selectors.DefaultSelector):
    """Polls for I/O; a wait that would have lasted until the next timer moves the virtual clock there instead."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout > 0:
            self.now += timeout
            timeout = 0
        return super().select(timeout)


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop on virtual time (see the module docstring)."""

    def __init__(self) -> None:
        self._jumping = _JumpingSelector()
        super().__init__(self._jumping)

    def time(self) -> float:
        return self._jumping.now


def run_in_virtual_time(main: Callable[[], Awaitable[T]]) -> T:
    """Run `main` (anyio code) on a VirtualEventLoop. The loop adds no randomness of its own: every random choice
    comes from the scenario's seeded generators."""
    return anyio.run(main, backend="asyncio", backend_options={"loop_factory": VirtualEventLoop})
