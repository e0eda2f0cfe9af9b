"""A node's own bugs, reported without flooding the log.

A bug of ours inside a request (any exception a service did not raise on purpose) is answered as the real service
answers it — DynamoDB's 500 InternalServerError, EC2's 500 InternalError, Lambda's 500 ServiceException — and
reported to the event log as `internal_error`, with its traceback: the first IN_FULL of them in full, then only a
count (`internal_errors_counted` at 10×, 100×, ... as many), so a bug that every request hits cannot flood the log.
"""

from __future__ import annotations

import traceback

from services.event_kinds import EventKind
from services.events import EventLog

IN_FULL = 10


class InternalErrors:
    """One node's internal errors: `count` of them so far, the first IN_FULL reported in full."""

    def __init__(self, node: str, events: EventLog) -> None:
        self.node = node
        self.events = events
        self.count = 0

    def record(self, exc: Exception, target: str, answer: str) -> None:
        """`exc` broke the request `target` (an operation or a path); `answer` names the error the client got."""
        self.count += 1
        if self.count <= IN_FULL:
            what = f"{type(exc).__name__}: {exc}"
            self.events.emit(
                EventKind.INTERNAL_ERROR,
                self.node,
                what if len(what) <= 300 else what[:299] + "…",
                error=type(exc).__name__,
                target=target,
                count=self.count,
                traceback="".join(traceback.format_exception(exc)),
            )
        elif self.count % IN_FULL == 0 and _power_of_ten(self.count // IN_FULL):
            self.events.emit(
                EventKind.INTERNAL_ERRORS_COUNTED,
                self.node,
                f"{self.count} internal errors so far (500 {answer}); only the first {IN_FULL} are logged in full",
                count=self.count,
            )


def _power_of_ten(n: int) -> bool:
    return n >= 10 and str(n).rstrip("0") == "1"
