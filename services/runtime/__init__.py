"""The runtime: the seam every service reads the clock, sleeps and starts tasks through, and the virtual-time kernel
that can stand behind it.

    seam      the surface services use (`from services import runtime`; `runtime.sleep(...)`), anyio's by default
    kernel    the virtual-time kernel: a heapq scheduler on a simulated clock, installed for a whole virtual run
    tasks     the kernel's tasks, cancel scopes and task groups
    sansio    driving a sans-I/O generator (an exchange, a DNS lookup) with a synchronous or an async engine

The seam's names are this package's own, so service code writes `runtime.current_time()` whatever is behind it.
"""

from services.runtime.seam import (
    TASK_STATUS_IGNORED,
    Backend,
    CancelScope,
    Event,
    TaskGroup,
    TaskStatus,
    checkpoint_if_cancelled,
    create_task_group,
    current_time,
    fail_after,
    installed,
    live_backend,
    move_on_after,
    open_signal_receiver,
    run_live,
    sleep,
    sleep_forever,
    sleep_until,
)

__all__ = [
    "TASK_STATUS_IGNORED",
    "Backend",
    "CancelScope",
    "Event",
    "TaskGroup",
    "TaskStatus",
    "checkpoint_if_cancelled",
    "create_task_group",
    "current_time",
    "fail_after",
    "installed",
    "live_backend",
    "move_on_after",
    "open_signal_receiver",
    "run_live",
    "sleep",
    "sleep_forever",
    "sleep_until",
]
