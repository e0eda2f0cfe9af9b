"""The virtual-time kernel's tasks and the structured concurrency they run under (services/runtime/kernel.py runs them).

Trio's rules, as the services use them through the runtime seam (services/runtime/seam.py):
- a cancel scope nests inside the task's current one; cancelling it cancels every task inside it (nested scopes
  too) at its next wait, with `Cancelled`, which the cancelled scope catches on its way out;
- a shielded scope is not reached by a cancellation from outside it;
- a deadline (`move_on_after`, `fail_after`) is a timer that cancels its scope; `fail_after` then raises
  TimeoutError;
- a task group waits for its children; the first error cancels the rest, and the group raises the errors as an
  exception group; `start` waits for the child's `task_status.started(value)` and returns the value.

Tasks, scopes and waiters are kept in dicts, never sets: the order things wake in is the order they came, so a
seed gives the same run every time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from services.runtime.traps import trap as trap  # a module of its own: it stays Python in the compiled build

# What a task awaits (see trap): the kernel answers each kind.
SLEEP, PARK, YIELD, WAIT_CHILDREN, EVENT = 0, 1, 2, 3, 4
INF = float("inf")


class Cancelled(BaseException):
    """Raised inside a task whose cancel scope was cancelled; the scope that was cancelled catches it."""


class Task:
    __slots__ = ("coro", "exc", "group", "scope", "status", "value", "waiting")

    def __init__(self, coro: Coroutine[Any, Any, Any], scope: VirtualCancelScope, group: VirtualTaskGroup | None):
        self.coro = coro
        self.scope = scope
        self.group = group
        self.value: Any = None  # sent at the next step
        self.exc: BaseException | None = None  # or thrown
        # What the task waits on: a timer entry, an Event, PARK, WAIT_CHILDREN (not cancellable), or None.
        self.waiting: Any = None
        self.status: TaskStatus | None = None


class Scheduler(Protocol):
    """What tasks and scopes need of the kernel (services/runtime/kernel.py's Kernel)."""

    now: float
    current: Task | None
    ready: deque[Task]

    def at(self, when: float, what: Any) -> list[Any]: ...
    def wake(self, task: Task, value: Any = None, exc: BaseException | None = None) -> None: ...
    def spawn(
        self, coro: Coroutine[Any, Any, Any], scope: VirtualCancelScope, group: VirtualTaskGroup | None
    ) -> Task: ...


class VirtualEvent:
    __slots__ = ("_kernel", "flag", "waiters")

    def __init__(self, kernel: Scheduler) -> None:
        self._kernel = kernel
        self.flag = False
        self.waiters: dict[Task, None] = {}

    def set(self) -> None:
        if self.flag:
            return
        self.flag = True
        ready = self._kernel.ready
        for task in self.waiters:
            task.waiting = None
            ready.append(task)
        self.waiters.clear()

    def is_set(self) -> bool:
        return self.flag

    async def wait(self) -> None:
        if self.flag:
            task = self._kernel.current
            if task is not None and task.scope.effective:
                raise Cancelled
            return
        await trap(EVENT, self)


class VirtualCancelScope:
    __slots__ = (
        "_kernel",
        "_parent",
        "_task",
        "_timer",
        "cancel_called",
        "cancelled_caught",
        "children",
        "deadline",
        "effective",
        "shield",
        "tasks",
    )

    def __init__(self, kernel: Scheduler, *, shield: bool = False, deadline: float = INF) -> None:
        self._kernel = kernel
        self.shield = shield
        self.deadline = deadline
        self.cancel_called = False
        self.cancelled_caught = False
        self.effective = False  # this scope's tasks are cancelled: its own cancel, or an unshielded parent's
        self._parent: VirtualCancelScope | None = None
        self._task: Task | None = None
        self._timer: list[Any] | None = None
        self.children: dict[VirtualCancelScope, None] = {}
        self.tasks: dict[Task, None] = {}

    def __enter__(self) -> VirtualCancelScope:
        task = self._kernel.current
        if task is None:
            raise RuntimeError("a cancel scope is entered from inside a task")
        parent = task.scope
        self._parent, self._task = parent, task
        parent.children[self] = None
        del parent.tasks[task]
        self.tasks[task] = None
        task.scope = self
        self.effective = self.cancel_called or (parent.effective and not self.shield)
        if self.deadline != INF and not self.cancel_called:
            if self.deadline <= self._kernel.now:
                self.cancel()
            else:
                self._timer = self._kernel.at(self.deadline, self.cancel)
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        task, parent = self._task, self._parent
        assert task is not None and parent is not None
        if self._timer is not None:
            self._timer[2] = None
        del self.tasks[task]
        del parent.children[self]
        parent.tasks[task] = None
        task.scope = parent
        if isinstance(exc, Cancelled) and self.cancel_called:
            self.cancelled_caught = True
            return True
        return False

    def cancel(self) -> None:
        if self.cancel_called:
            return
        self.cancel_called = True
        if self._timer is not None:
            self._timer[2] = None
        if self._task is None or self.effective:
            return
        wake = self._kernel.wake
        pending = [self]
        while pending:
            scope = pending.pop()
            scope.effective = True
            for task in list(scope.tasks):
                if task.waiting is not None and task.waiting is not WAIT_CHILDREN:
                    wake(task, exc=Cancelled())
            pending.extend(child for child in scope.children if not child.shield and not child.effective)


class FailAfter(VirtualCancelScope):
    """A scope that raises TimeoutError when its deadline cancelled it (anyio.fail_after)."""

    __slots__ = ()

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        swallowed = super().__exit__(exc_type, exc, tb)
        if self.cancelled_caught and self._kernel.now >= self.deadline:
            raise TimeoutError
        return swallowed


class TaskStatus:
    __slots__ = ("done", "error", "event", "value")

    def __init__(self, event: VirtualEvent) -> None:
        self.event = event
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None

    def started(self, value: Any = None) -> None:
        if self.done:
            raise RuntimeError("task_status.started() was called twice")
        self.done = True
        self.value = value
        self.event.set()

    def fail(self, error: BaseException) -> None:
        self.done = True
        self.error = error
        self.event.set()


class VirtualTaskGroup:
    def __init__(self, kernel: Scheduler) -> None:
        self._kernel = kernel
        self.cancel_scope = VirtualCancelScope(kernel)
        self.errors: list[BaseException] = []
        self._children = 0
        self._host: Task | None = None
        self._open = False

    async def __aenter__(self) -> VirtualTaskGroup:
        self.cancel_scope.__enter__()
        self._host = self._kernel.current
        self._open = True
        return self

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        if exc is not None and not isinstance(exc, Cancelled):
            self.errors.append(exc)
            self.cancel_scope.cancel()
        while self._children:
            await trap(WAIT_CHILDREN)
        self._open = False
        if self.errors:
            try:
                raise BaseExceptionGroup("errors in a task group", self.errors)
            except BaseExceptionGroup as group:
                self.cancel_scope.__exit__(type(group), group, group.__traceback__)
                raise
        swallowed = self.cancel_scope.__exit__(type(exc), exc, None)
        return exc is not None and swallowed

    def start_soon(self, func: Callable[..., Awaitable[Any]], *args: Any, name: object = None) -> None:
        self._spawn(func(*args))

    async def start(self, func: Callable[..., Awaitable[Any]], *args: Any, name: object = None) -> Any:
        status = TaskStatus(VirtualEvent(self._kernel))
        task = self._spawn(func(*args, task_status=status))
        task.status = status
        await status.event.wait()
        if status.error is not None:
            raise status.error
        return status.value

    def _spawn(self, coro: Awaitable[Any]) -> Task:
        if not self._open:
            raise RuntimeError("this task group is not open")
        self._children += 1
        return self._kernel.spawn(coro, self.cancel_scope, self)  # type: ignore[arg-type]

    def child_done(self, task: Task) -> None:
        self._children -= 1
        host = self._host
        if self._children == 0 and host is not None and host.waiting is WAIT_CHILDREN:
            host.waiting = None
            self._kernel.ready.append(host)


class SignalReceiver:
    def __init__(self, kernel: Scheduler) -> None:
        self._kernel = kernel
        self._pending: deque[int] = deque()
        self._arrived = VirtualEvent(kernel)

    def put(self, signals: list[int]) -> None:
        self._pending.extend(signals)
        self._arrived.set()

    def __aiter__(self) -> SignalReceiver:
        return self

    async def __anext__(self) -> int:
        while not self._pending:
            self._arrived = VirtualEvent(self._kernel)
            await self._arrived.wait()
        return self._pending.popleft()
