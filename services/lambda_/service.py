"""The Lambda-like service assembled: Invoke behind `lambda.us-east-1.cloud.test`, its pollers and a canary."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from services import runtime
from services.client.service_client import ServiceClient
from services.errors import CallFailed
from services.event_kinds import EventKind
from services.events import EventLog
from services.lambda_.function import LambdaService, LambdaSettings
from services.lambda_.poller import EventSourcePoller
from services.net.network import Address, Network
from services.node.restartable import HttpNode
from services.runtime import TaskStatus

LAMBDA_NAME = "lambda.us-east-1.cloud.test"
FUNCTION = "orders-handler"


class LambdaStack:
    def __init__(
        self,
        network: Network,
        events: EventLog,
        settings: LambdaSettings,
        *,
        address: Address,
        dynamodb: ServiceClient,
        ec2: ServiceClient,
        invoke_client: ServiceClient,
        rng_for: Callable[[str], random.Random],
        supervised: bool,
        canary_interval: float = 5.0,
    ) -> None:
        self.network = network
        self.events = events
        self.address = address
        self.function = LambdaService(settings, dynamodb, ec2, rng_for("lambda"), events)
        self.node = HttpNode("lambda", network, self.function.routes, address, events)
        self.poller = EventSourcePoller(self.function, FUNCTION, events, supervised=supervised)
        self.invoke_client = invoke_client
        self.canary_interval = canary_interval
        self.failing = False
        self.results: list[tuple[float, int | str]] = []

    async def run(self, *, task_status: TaskStatus[None] = runtime.TASK_STATUS_IGNORED) -> None:
        async with runtime.create_task_group() as tg:
            self.function.attach(tg)
            await tg.start(self.node.run)
            await self.function.register(FUNCTION, 0.05)
            tg.start_soon(self.poller.run)
            task_status.started()
            while True:
                await self._probe()
                await runtime.sleep(self.canary_interval)

    async def _probe(self) -> None:
        """An invocation canary: reports when Invoke starts and stops failing."""
        try:
            response = await self.invoke_client.request(
                "POST",
                f"/2015-03-31/functions/{FUNCTION}/invocations",
                content=json.dumps({"canary": True}).encode(),
                deadline=runtime.current_time() + 5.0,
            )
            outcome: int | str = response.status_code
        except CallFailed as exc:
            outcome = f"unreachable ({exc})"
        self.results.append((self.events.now(), outcome))
        if outcome != 200 and not self.failing:
            self.failing = True
            self.events.emit(EventKind.INVOCATIONS_FAILING, "lambda-canary", f"Invoke fails: {outcome}")
        elif outcome == 200 and self.failing:
            self.failing = False
            self.events.emit(EventKind.INVOCATIONS_RECOVERED, "lambda-canary", "Invoke succeeds again")
