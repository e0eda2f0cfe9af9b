"""The runtime seam: the only way service code reads the clock, sleeps, waits, starts tasks and cancels them.

Service code is written once against this small surface, which is anyio's (and trio's) structured-concurrency
model under the same names:

    current_time()  sleep(s)  sleep_until(t)  sleep_forever()  checkpoint_if_cancelled()
    Event()  CancelScope(shield=)  move_on_after(s)  fail_after(s)  create_task_group()  open_signal_receiver(*s)

Two backends serve it. By default every call goes to anyio, so live runs (on asyncio, through `run_live`) and unit
tests (trio's MockClock) run exactly as anyio code does. While a whole virtual run is running, the virtual-time
kernel (services/runtime/kernel.py) is installed instead: a heapq scheduler on a simulated clock that pays neither for a
selector nor for anyio's dispatch on every call (anyio reads the clock in about 2 µs, the kernel in 0.1 µs). This
module is the one place where the two modes differ; no service branches on its mode.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, cast

import anyio
import anyio.abc
import anyio.lowlevel
from anyio import TASK_STATUS_IGNORED as TASK_STATUS_IGNORED  # the seam surface is anyio's, these two as they are
from anyio.abc import TaskStatus as TaskStatus


class Event:
    """anyio.Event's surface; `Event()` builds the installed backend's."""

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> Event:
        if cls is Event:
            return _backend.event()
        return object.__new__(cls)

    def set(self) -> None:
        raise NotImplementedError

    def is_set(self) -> bool:
        raise NotImplementedError

    async def wait(self) -> None:
        raise NotImplementedError


class CancelScope:
    """anyio.CancelScope's surface; `CancelScope(shield=...)` builds the installed backend's."""

    cancel_called: bool
    cancelled_caught: bool

    __slots__ = ()

    def __new__(cls, *args: Any, shield: bool = False, **kwargs: Any) -> CancelScope:
        if cls is CancelScope:
            return _backend.cancel_scope(shield)
        return object.__new__(cls)

    def cancel(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> CancelScope:
        raise NotImplementedError

    def __exit__(self, *exc: object) -> bool:
        raise NotImplementedError


class TaskGroup(Protocol):
    cancel_scope: CancelScope

    def start_soon(self, func: Callable[..., Awaitable[Any]], *args: Any, name: object = None) -> None: ...
    async def start(self, func: Callable[..., Awaitable[Any]], *args: Any, name: object = None) -> Any: ...
    async def __aenter__(self) -> TaskGroup: ...
    async def __aexit__(self, *exc: Any) -> bool | None: ...


class Backend(Protocol):
    """What a runtime provides; services/runtime/kernel.py's Kernel is the other one."""

    def current_time(self) -> float: ...
    def sleep(self, seconds: float) -> Awaitable[None]: ...
    def sleep_until(self, deadline: float) -> Awaitable[None]: ...
    def sleep_forever(self) -> Awaitable[None]: ...
    def checkpoint_if_cancelled(self) -> Awaitable[None]: ...
    def event(self) -> Event: ...
    def cancel_scope(self, shield: bool) -> CancelScope: ...
    def move_on_after(self, seconds: float | None) -> CancelScope: ...
    def fail_after(self, seconds: float | None) -> AbstractContextManager[CancelScope]: ...
    def create_task_group(self) -> TaskGroup: ...
    def open_signal_receiver(self, *signals: signal.Signals) -> AbstractContextManager[AsyncIterator[int]]: ...


class _Anyio:
    """anyio itself: asyncio (or trio) in live runs, trio in unit tests."""

    def current_time(self) -> float:
        return anyio.current_time()

    def sleep(self, seconds: float) -> Awaitable[None]:
        return anyio.sleep(seconds)

    def sleep_until(self, deadline: float) -> Awaitable[None]:
        return anyio.sleep_until(deadline)

    def sleep_forever(self) -> Awaitable[None]:
        return anyio.sleep_forever()

    def checkpoint_if_cancelled(self) -> Awaitable[None]:
        return anyio.lowlevel.checkpoint_if_cancelled()

    def event(self) -> Event:
        return cast(Event, anyio.Event())

    def cancel_scope(self, shield: bool) -> CancelScope:
        return cast(CancelScope, anyio.CancelScope(shield=shield))

    def move_on_after(self, seconds: float | None) -> CancelScope:
        return cast(CancelScope, anyio.move_on_after(seconds))

    def fail_after(self, seconds: float | None) -> AbstractContextManager[CancelScope]:
        return cast(AbstractContextManager[CancelScope], anyio.fail_after(seconds))

    def create_task_group(self) -> TaskGroup:
        group: TaskGroup = anyio.create_task_group()  # type: ignore[assignment]
        return group

    def open_signal_receiver(self, *signals: signal.Signals) -> AbstractContextManager[AsyncIterator[int]]:
        return anyio.open_signal_receiver(*signals)


ANYIO = _Anyio()
_backend: Backend = ANYIO


class installed:
    """Serve the seam from `backend` inside the block (the virtual kernel, for the length of a run)."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._previous: Backend = ANYIO

    def __enter__(self) -> Backend:
        global _backend
        self._previous, _backend = _backend, self._backend
        _serve_from(self._backend)
        return self._backend

    def __exit__(self, *exc: object) -> None:
        global _backend
        _backend = self._previous
        _serve_from(self._previous)


def current_time() -> float:
    return _backend.current_time()


def sleep(seconds: float) -> Awaitable[None]:
    return _backend.sleep(seconds)


def sleep_until(deadline: float) -> Awaitable[None]:
    return _backend.sleep_until(deadline)


def sleep_forever() -> Awaitable[None]:
    return _backend.sleep_forever()


def checkpoint_if_cancelled() -> Awaitable[None]:
    return _backend.checkpoint_if_cancelled()


def move_on_after(seconds: float | None) -> CancelScope:
    return _backend.move_on_after(seconds)


def fail_after(seconds: float | None) -> AbstractContextManager[CancelScope]:
    return _backend.fail_after(seconds)


def create_task_group() -> TaskGroup:
    return _backend.create_task_group()


def open_signal_receiver(*signals: signal.Signals) -> AbstractContextManager[AsyncIterator[int]]:
    return _backend.open_signal_receiver(*signals)


# The functions above, each one call into the installed backend. While a backend other than anyio's is installed
# (the kernel, for a whole virtual run), the seam's names are that backend's own methods instead, here and in the
# package that re-exports them: `runtime.current_time()` then costs one call, not two, and a virtual run makes tens
# of millions of such calls. A function taken from the seam before the kernel was installed still dispatches.
_SURFACE = (
    "current_time",
    "sleep",
    "sleep_until",
    "sleep_forever",
    "checkpoint_if_cancelled",
    "move_on_after",
    "fail_after",
    "create_task_group",
    "open_signal_receiver",
)
_DISPATCHERS = {name: globals()[name] for name in _SURFACE}


def _serve_from(backend: Backend) -> None:
    surface = _DISPATCHERS if backend is ANYIO else {name: getattr(backend, name) for name in _SURFACE}
    globals().update(surface)
    package = sys.modules.get(__name__.rpartition(".")[0])
    if package is not None:
        vars(package).update(surface)


LIVE_BACKENDS = ("asyncio", "trio")


def live_backend() -> str:
    """The event loop a live run's process runs on: asyncio (Hypercorn's asyncio worker serves loopback about
    1.8× as many requests a second as its trio worker: docs/benchmarks.md, the live ceiling), or trio when
    CASCADESIM_LIVE_BACKEND says so, to compare the two. The service code is anyio's either way."""
    backend = os.environ.get("CASCADESIM_LIVE_BACKEND", "asyncio")
    if backend not in LIVE_BACKENDS:
        raise ValueError(f"CASCADESIM_LIVE_BACKEND={backend!r}: must be one of {', '.join(LIVE_BACKENDS)}")
    return backend


def run_live(main: Callable[[], Awaitable[Any]]) -> Any:
    """Run `main` on a real clock, on the live event loop (`live_backend()`)."""
    backend = live_backend()
    if backend == "asyncio":
        return anyio.run(_quiet_streams, main, backend=backend)
    return anyio.run(main, backend=backend)


async def _quiet_streams(main: Callable[[], Awaitable[Any]]) -> Any:
    # Python 3.11's asyncio streams ask a cancelled connection task for its exception (fixed in 3.12), so every
    # connection Hypercorn cancels as it stops (after its graceful timeout) printed a traceback for nothing.
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), asyncio.CancelledError):
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)
    return await main()
