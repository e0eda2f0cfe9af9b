"""Virtual time: a scheduler for simulated time that runs the service code as it is, at a discrete-event model's pace.

`run_in_virtual_time(main)` installs a `Kernel` behind the runtime seam (runtime/seam.py) and runs `main` on it.
The kernel drives coroutines itself, the way trio's core and SimPy's environment do:

- a task is a coroutine; it runs until it awaits one of the kernel's traps (sleep until a time, wait for an event,
  park until cancelled, let others run) and is resumed by the kernel with the answer;
- the clock never moves while a task can run; when none can, it jumps to the earliest timer (a heap of
  [when, order, what]), so hours of simulated time take seconds;
- ready tasks run first in, first out, and timer ties break by the order they were set: no randomness of its own,
  so a seed gives the same run every time;
- structured concurrency with trio's rules, as the services use it through the seam: cancel scopes nest, a
  cancelled scope cancels every task inside it at its next wait, deadlines (`move_on_after`, `fail_after`) are
  timers that cancel a scope, a shield stops a cancellation from outside, and a task group waits for its children
  and raises their errors as an exception group.

Why not asyncio with a jumping clock: each primitive goes through anyio's dispatch and asyncio's handles, futures
and selector; a sleep's wake-up costs 13–17 µs there against about 1.5 µs here, and scheduling would take two fifths
of a run's wall time.
"""

from __future__ import annotations

import gc
import heapq
import signal
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar, cast

from services import runtime
from services.errors import CascadesimError
from services.runtime.tasks import (
    INF,
    PARK,
    SLEEP,
    WAIT_CHILDREN,
    YIELD,
    Cancelled,
    FailAfter,
    SignalReceiver,
    Task,
    VirtualCancelScope,
    VirtualEvent,
    VirtualTaskGroup,
    trap,
)

T = TypeVar("T")

GC_EVERY = 100_000  # allocations between two passes of the cycle collector, during a run


class StalledError(CascadesimError):
    """Every task waits on something that no timer or task will ever bring."""


class _Done:
    """An awaitable that is already done (no coroutine to build for a check that does not wait)."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, Any, None]:
        return iter(())  # type: ignore[return-value]


_DONE = _Done()


class Kernel:
    """The scheduler (see the module docstring). One runs at a time in a thread, for one `run_in_virtual_time`."""

    def __init__(self) -> None:
        self.now = 0.0
        self.ready: deque[Task] = deque()
        self._timers: list[list[Any]] = []
        self._order = 0
        self.current: Task | None = None
        self._signals: list[int] = []
        self._receivers: list[SignalReceiver] = []
        self.root_scope = VirtualCancelScope(self)
        self._root_done = False
        self._root_error: BaseException | None = None

    # -- the runtime seam (services/runtime.Backend) --

    def current_time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> Awaitable[None]:
        return trap(SLEEP, self.now + seconds) if seconds > 0 else trap(YIELD)

    def sleep_until(self, deadline: float) -> Awaitable[None]:
        return trap(SLEEP, deadline) if deadline > self.now else trap(YIELD)

    def sleep_forever(self) -> Awaitable[None]:
        return trap(PARK)

    def checkpoint_if_cancelled(self) -> Awaitable[None]:
        task = self.current
        if task is not None and task.scope.effective:
            raise Cancelled
        return _DONE

    # The seam's Event and CancelScope are anyio's surface; these classes have it without inheriting from it (a
    # subclass would be built twice by the seam's __new__).

    def event(self) -> runtime.Event:
        return cast(runtime.Event, VirtualEvent(self))

    def cancel_scope(self, shield: bool) -> runtime.CancelScope:
        return cast(runtime.CancelScope, VirtualCancelScope(self, shield=shield))

    def move_on_after(self, seconds: float | None) -> runtime.CancelScope:
        return cast(
            runtime.CancelScope, VirtualCancelScope(self, deadline=INF if seconds is None else self.now + seconds)
        )

    def fail_after(self, seconds: float | None) -> AbstractContextManager[runtime.CancelScope]:
        return cast(
            AbstractContextManager[runtime.CancelScope],
            FailAfter(self, deadline=INF if seconds is None else self.now + seconds),
        )

    def create_task_group(self) -> runtime.TaskGroup:
        return cast(runtime.TaskGroup, VirtualTaskGroup(self))

    @contextmanager
    def open_signal_receiver(self, *signals: signal.Signals) -> Iterator[AsyncIterator[int]]:
        receiver = SignalReceiver(self)
        previous = {signum: signal.signal(signum, self._on_signal) for signum in signals}
        self._receivers.append(receiver)
        try:
            yield receiver
        finally:
            self._receivers.remove(receiver)
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    # -- running --

    def _on_signal(self, signum: int, frame: object) -> None:
        self._signals.append(signum)  # delivered by the loop between two steps

    def spawn(self, coro: Coroutine[Any, Any, Any], scope: VirtualCancelScope, group: VirtualTaskGroup | None) -> Task:
        task = Task(coro, scope, group)
        scope.tasks[task] = None
        self.ready.append(task)
        return task

    def wake(self, task: Task, value: Any = None, exc: BaseException | None = None) -> None:
        """Make a waiting task ready, with what its trap returns (or raises)."""
        waiting = task.waiting
        if type(waiting) is list:
            waiting[2] = None  # its timer is void
        elif type(waiting) is VirtualEvent:
            del waiting.waiters[task]
        task.waiting = None
        task.value = value
        task.exc = exc
        self.ready.append(task)

    def at(self, when: float, what: Any) -> list[Any]:
        """A timer: at `when`, wake a task or call `what()`; void it by setting entry[2] = None."""
        self._order += 1
        entry = [when, self._order, what]
        heapq.heappush(self._timers, entry)
        return entry

    def run(self, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
        outcome: list[Any] = []

        async def root() -> None:
            outcome.append(await main())

        self.spawn(root(), self.root_scope, None)
        ready, timers, pop = self.ready, self._timers, heapq.heappop
        while True:
            while ready:
                if self._signals:
                    self._deliver_signals()
                self._step(ready.popleft())
            if self._root_done:
                break
            while timers:
                entry = pop(timers)
                what = entry[2]
                if what is None:
                    continue
                self.now = entry[0]
                if type(what) is Task:
                    what.waiting = None
                    ready.append(what)
                else:
                    what()
                while timers and timers[0][0] == self.now:  # everything due at this instant, in the order set
                    entry = pop(timers)
                    what = entry[2]
                    if what is None:
                        continue
                    if type(what) is Task:
                        what.waiting = None
                        ready.append(what)
                    else:
                        what()
                break
            else:
                if self._signals and self._receivers:
                    self._deliver_signals()
                    continue
                raise StalledError("virtual time stalled: every task waits and no timer is set")
        if self._root_error is not None:
            raise self._root_error
        result: T = outcome[0]
        return result

    def _step(self, task: Task) -> None:
        self.current = task
        try:
            if task.exc is not None:
                exc, task.exc = task.exc, None
                trap = task.coro.throw(exc)
            else:
                value, task.value = task.value, None
                trap = task.coro.send(value)
        except StopIteration:
            self._finished(task, None)
            return
        except BaseException as exc:  # the task's error goes to its group (or out of run())
            self._finished(task, exc)
            return
        kind, argument = trap
        if kind != WAIT_CHILDREN and task.scope.effective:
            task.exc = Cancelled()
            self.ready.append(task)
        elif kind == SLEEP:
            self._order += 1
            entry = [argument, self._order, task]
            heapq.heappush(self._timers, entry)
            task.waiting = entry
        elif kind == YIELD:
            self.ready.append(task)
        elif kind == PARK:
            task.waiting = PARK
        elif kind == WAIT_CHILDREN:
            task.waiting = WAIT_CHILDREN
        else:  # an Event
            argument.waiters[task] = None
            task.waiting = argument

    def _finished(self, task: Task, exc: BaseException | None) -> None:
        del task.scope.tasks[task]
        if task.group is None:  # the root
            self._root_done, self._root_error = True, exc
            return
        status = task.status
        if status is not None and not status.done:
            status.fail(exc or RuntimeError("the child exited without calling task_status.started()"))
        elif exc is not None and not isinstance(exc, Cancelled):
            task.group.errors.append(exc)
            task.group.cancel_scope.cancel()
        task.group.child_done(task)

    def _deliver_signals(self) -> None:
        signals, self._signals = self._signals, []
        for receiver in self._receivers:
            receiver.put(signals)


def run_in_virtual_time(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `main` (code written against services/runtime/seam.py) on a fresh Kernel, from simulated time 0. The kernel
    adds no randomness of its own: every random choice comes from the scenario's seeded generators."""
    kernel = Kernel()
    previous = gc.get_threshold()
    # A virtual run makes millions of short-lived objects (coroutines, requests, replies). CPython's cycle
    # collector, at its default pass every 700 allocations, took a tenth of the wall time; cycles (mostly
    # exceptions with their tracebacks) are still collected, every GC_EVERY allocations.
    gc.set_threshold(GC_EVERY, *previous[1:])
    try:
        with runtime.installed(kernel):
            return kernel.run(main)
    finally:
        gc.set_threshold(*previous)
