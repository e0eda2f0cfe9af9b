"""The users of loadgen/behaviour.py as trio tasks, for virtual time (Locust cannot run under MockClock).

Each user has its own internal client (so its own client policy: quotas and budgets are per client) and loops:
pick a weighted task, send it with a deadline of now + its timeout, record how it ended, wait. A controller keeps
the number of users of each kind at what the current stage says, and stops them all after the last stage.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

import anyio

from loadgen.behaviour import (
    BEHAVIOURS,
    CUSTOMER_TABLE_DEFINITION,
    DYNAMODB_USER,
    SecondOutcomes,
    Stage,
    UserBehaviour,
    classify,
    stage_at,
)
from services.client import ServiceClient
from services.dns.stub import StubResolver
from services.dynamodb.calls import until_done
from services.errors import CallFailed
from services.net import Network
from services.throttling.base import ClientPolicy
from services.throttling.outcome import Outcome


class VirtualUsers:
    def __init__(
        self,
        network: Network,
        stub: StubResolver,
        stages: Sequence[Stage],
        rng_for: Callable[[str], random.Random],
        policy_for: Callable[[str], ClientPolicy],
        *,
        behaviours: Mapping[str, UserBehaviour] = BEHAVIOURS,
    ) -> None:
        self.network = network
        self.stub = stub
        self.stages = tuple(stages)
        self.rng_for = rng_for
        self.policy_for = policy_for
        self.behaviours = behaviours
        self.outcomes = SecondOutcomes()
        self._running: dict[str, list[anyio.CancelScope]] = {name: [] for name in behaviours}
        self._spawned = 0

    async def run(self) -> None:
        """Create the customers' table, then follow the stages until the last one ends."""
        start = anyio.current_time()
        await self._create_table()
        async with anyio.create_task_group() as tg:
            while (stage := stage_at(self.stages, anyio.current_time() - start)) is not None:
                for name, scopes in self._running.items():
                    wanted = stage.users.get(name, 0)
                    while len(scopes) < wanted:
                        scope = anyio.CancelScope()
                        scopes.append(scope)
                        tg.start_soon(self._user, self.behaviours[name], scope, start)
                    while len(scopes) > wanted:
                        scopes.pop().cancel()
                await anyio.sleep(1.0)
            tg.cancel_scope.cancel()

    async def _create_table(self) -> None:
        client = self._client(DYNAMODB_USER, "setup")
        await until_done(client, "CreateTable", CUSTOMER_TABLE_DEFINITION, attempts=30)
        await client.aclose()

    def _client(self, behaviour: UserBehaviour, who: str) -> ServiceClient:
        return ServiceClient(
            self.network,
            self.stub,
            behaviour.service,
            behaviour.port,
            self.rng_for(f"user-{who}"),
            timeout=behaviour.timeout,
            policy=self.policy_for(who),
        )

    async def _user(self, behaviour: UserBehaviour, scope: anyio.CancelScope, start: float) -> None:
        self._spawned += 1
        who = f"{behaviour.name}-{self._spawned}"
        rng = self.rng_for(who)
        client = self._client(behaviour, who)
        with scope:
            try:
                while True:
                    request = behaviour.pick(rng).build(rng)
                    began, before = anyio.current_time(), client.attempts
                    try:
                        await client.request(
                            request.method,
                            request.path,
                            headers=request.headers,
                            content=request.body,
                            deadline=began + behaviour.timeout,
                        )
                        outcome = client.last_outcome or Outcome(1)
                    except CallFailed as exc:
                        outcome = Outcome(1, failure=exc.reason)
                    self.outcomes.record(
                        int(began - start), behaviour.name, client.attempts - before, classify(outcome)
                    )
                    await anyio.sleep(behaviour.wait_time(rng))
            finally:
                with anyio.CancelScope(shield=True):
                    await client.aclose()
