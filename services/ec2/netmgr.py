"""The Network Manager (name from AWS's 2025-10-19/20 summary): propagates network state to instances and hosts.

A launched instance, and a droplet whose lease has just been (re-)established, is reachable only once its network
state has gone through the Network Manager's queue, served by a few workers (a capacity model). After the outage
every recovered droplet and every delayed launch arrives at once: the backlog leaves new instances without
connectivity until it drains. (A policy set's `queue-size` admission applied to this queue refuses work, and a
refused target counts as reachable: a shortcut of the policy sets, kept as it was.)

`max_queue` is AWS's announced fix ("rate limit incoming work based on the size of the waiting queue"): while that
many items wait, the EC2 API refuses new launches (RequestLimitExceeded), so no instance comes up without its
network state; a re-established droplet's state is DWFM's own work and still queues.
"""

from __future__ import annotations

import random
from typing import Any

from services import runtime
from services.event_kinds import EventKind
from services.events import EventLog
from services.node.capacity import CapacityModel, CapacitySpec, DeadlineExceeded, Overloaded, ServiceTime, Shed
from services.throttling.admission import Admission
from services.throttling.disciplines import Discipline


class NetworkManager:
    def __init__(
        self,
        events: EventLog,
        rng: random.Random,
        *,
        workers: int = 1,
        propagation_time: float = 0.2,
        backlog_threshold: int = 20,
        max_queue: int | None = None,
        admission: Admission | None = None,
        discipline: Discipline[Any] | None = None,
    ) -> None:
        self.events = events
        spec = CapacitySpec(workers, ServiceTime("constant", propagation_time), queue_limit=1_000_000)
        self.capacity = CapacityModel(spec, rng, admission=admission, discipline=discipline)
        self.backlog_threshold = backlog_threshold
        self.max_queue = max_queue
        self.propagated = 0
        self.refused = 0
        self.pending: set[str] = set()
        self._in_backlog = False
        self._group: runtime.TaskGroup | None = None
        self.name = "netmgr"
        self.up = True
        self._back = runtime.Event()

    async def run(self) -> None:
        async with runtime.create_task_group() as tg:
            self._group = tg
            while True:
                await runtime.sleep(1.0)
                self._watch()

    def propagate(self, target: str) -> None:
        """Queue `target`'s network state; it stays in `pending` until the queue has served it."""
        if self._group is None or target in self.pending:
            return
        self.pending.add(target)
        self._group.start_soon(self._work, target)

    def admits(self) -> bool:
        """Whether new incoming work (a launch) is taken now: always, unless `max_queue` items already wait."""
        return self.max_queue is None or self.capacity.queue_depth < self.max_queue

    def reachable(self, target: str) -> bool:
        return target not in self.pending

    def kill(self) -> None:
        """The Network Manager's hosts are gone: nothing propagates, the queue waits."""
        if self.up:
            self.up = False
            self._back = runtime.Event()
            self.events.emit(EventKind.NODE_KILLED, self.name, "the Network Manager is down: nothing propagates")

    def revive(self) -> None:
        if not self.up:
            self.up = True
            self._back.set()
            self.events.emit(EventKind.NODE_REVIVED, self.name, "the Network Manager is back: propagation resumes")

    async def _work(self, target: str) -> None:
        try:
            await self.capacity.serve(None, self._push)
            self.propagated += 1
        except (Overloaded, Shed, DeadlineExceeded):
            self.refused += 1  # not admitted now; the owner asks again later
        finally:
            self.pending.discard(target)

    async def _push(self) -> None:
        """One target's state pushed; while the Network Manager is down, its workers hold their items."""
        if not self.up:
            await self._back.wait()

    def _watch(self) -> None:
        depth = self.capacity.queue_depth
        if depth >= self.backlog_threshold and not self._in_backlog:
            self._in_backlog = True
            self.events.emit(
                EventKind.PROPAGATION_BACKLOG,
                "netmgr",
                f"network propagation backlog: {depth} items waiting",
                depth=depth,
            )
        elif depth == 0 and self._in_backlog:
            self._in_backlog = False
            self.events.emit(EventKind.PROPAGATION_BACKLOG_DRAINED, "netmgr", "network propagation backlog drained")
