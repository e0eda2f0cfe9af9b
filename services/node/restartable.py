"""What a `kill_node` fault acts on: a node whose process can die and come back.

An HTTP node (a DynamoDB router, the EC2 API, Lambda) is an ASGI app served at its address; killed, nothing listens
there any more, so its clients see connections refused (live) or unreachable (virtual), and work in flight is
lost; revived, it listens at the same address again. The Network Manager, which serves no HTTP, is killed by
pausing its propagation workers (services/ec2/netmgr.py).
"""

from __future__ import annotations

from typing import Protocol

from services import runtime
from services.event_kinds import EventKind
from services.events import EventLog
from services.net.http import Routes
from services.net.network import Address, Network
from services.runtime import TaskStatus


class Killable(Protocol):
    name: str

    def kill(self) -> None:
        """The node's process is gone."""

    def revive(self) -> None:
        """The node is back (a no-op if it was not killed)."""


class RestartableNode:
    """A node whose process faults can kill and revive: `_serve` runs until a kill cancels it, and a revival starts
    it again at the same address. Subclasses say how they serve and how their going down and coming back read."""

    def __init__(self, name: str, address: Address, events: EventLog) -> None:
        self.name = name
        self.address = address
        self.events = events
        self.up = False
        self._scope: runtime.CancelScope | None = None
        self._wanted = runtime.Event()

    async def _serve(self, *, task_status: TaskStatus[Address]) -> None:
        """Serve until cancelled; report the bound address once serving."""
        raise NotImplementedError

    def _down(self) -> str:
        return f"{self.name} is down: nothing listens on {_at(self.address)}"

    def _back(self) -> str:
        return f"{self.name} listens on {_at(self.address)} again"

    async def run(self, *, task_status: TaskStatus[Address] = runtime.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; report `started` once the node first listens. A kill stops the serving, a
        revival starts it again."""
        reported = False
        while True:
            with runtime.CancelScope() as self._scope:
                async with runtime.create_task_group() as tg:
                    bound = await tg.start(self._serve)
                    self.up = True
                    if not reported:
                        reported = True
                        task_status.started(bound)
            self.up = False
            await self._wanted.wait()

    def kill(self) -> None:
        if self._scope is not None and self.up:
            self._scope.cancel()
            self.up = False
            self._wanted = runtime.Event()  # made here, so that a revive before the serving has stopped is kept
            self.events.emit(EventKind.NODE_KILLED, self.name, self._down())

    def revive(self) -> None:
        if self._scope is not None and not self.up and self._scope.cancel_called:
            self._wanted.set()
            self.events.emit(EventKind.NODE_REVIVED, self.name, self._back())


class HttpNode(RestartableNode):
    """A node's routes served at `address` on the Network, which faults can kill and revive."""

    def __init__(self, name: str, network: Network, routes: Routes, address: Address, events: EventLog) -> None:
        super().__init__(name, address, events)
        self.network = network
        self.routes = routes

    async def _serve(self, *, task_status: TaskStatus[Address]) -> None:
        await self.network.serve_http(self.routes, self.address, task_status=task_status)


def _at(address: Address) -> str:
    return f"{address[0]}:{address[1]}"
