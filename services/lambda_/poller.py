"""An SQS-like event source and the poller that feeds it to a function (Lambda's event source mapping).

AWS reported that Lambda's SQS pollers, after DynamoDB errors, did not recover by themselves. Modelled here: when
an invocation fails because the function's configuration cannot be read, the poller puts its batch back and stops
polling ("stuck"). Nothing inside it ever tries again. A supervised poller has a supervisor that restarts it
`restart_after` seconds later (it gets stuck again if DynamoDB is still down); an unsupervised one waits for the
operator action `restart_poller`.
"""

from __future__ import annotations

from collections import deque

from services import runtime
from services.event_kinds import EventKind, OperatorKind
from services.events import EventLog
from services.lambda_.function import LambdaError, LambdaService


class EventSourcePoller:
    def __init__(
        self,
        function: LambdaService,
        name: str,
        events: EventLog,
        *,
        rate: float = 5.0,
        batch: int = 10,
        interval: float = 1.0,
        supervised: bool = False,
        restart_after: float = 10.0,
    ) -> None:
        self.function = function
        self.name = name
        self.events = events
        self.rate = rate
        self.batch = batch
        self.interval = interval
        self.supervised = supervised
        self.restart_after = restart_after
        self.queue: deque[int] = deque()
        self.processed = 0
        self.stuck_since: float | None = None
        self._sent = 0
        self.source = "sqs-poller" + ("-supervised" if supervised else "")

    async def run(self) -> None:
        async with runtime.create_task_group() as tg:
            tg.start_soon(self._produce)
            while True:
                await runtime.sleep(self.interval)
                if self.stuck_since is not None:
                    if self.supervised and runtime.current_time() - self.stuck_since >= self.restart_after:
                        self.restart("supervisor")
                    continue
                await self.poll_once()

    async def _produce(self) -> None:
        """Messages arrive at `rate` per second."""
        while True:
            await runtime.sleep(1.0 / self.rate)
            self._sent += 1
            self.queue.append(self._sent)

    async def poll_once(self) -> None:
        batch = [self.queue.popleft() for _ in range(min(self.batch, len(self.queue)))]
        if not batch:
            return
        try:
            await self.function.invoke(self.name, {"Records": batch})
        except LambdaError as exc:
            self.queue.extendleft(reversed(batch))
            if exc.code == "ServiceException":
                self.stuck_since = runtime.current_time()
                self.events.emit(
                    EventKind.POLLER_STUCK,
                    self.source,
                    f"event source poller stopped after: {exc.message}",
                    backlog=len(self.queue),
                )
            return
        self.processed += len(batch)

    def restart(self, by: str) -> None:
        if self.stuck_since is None:
            return
        self.stuck_since = None
        kind = EventKind.OPERATOR_ACTION if by == "operator" else EventKind.POLLER_RESTARTED
        self.events.emit(
            kind,
            by if by == "operator" else self.source,
            f"restart_poller: {self.source} polls again (backlog {len(self.queue)})",
            action=OperatorKind.RESTART_POLLER,
        )
