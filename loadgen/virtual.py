"""The users of loadgen/behaviour.py as async tasks, for virtual time (Locust cannot run on a virtual clock).

Each user has its own internal client (so its own client policy: quotas and budgets are per client) and loops:
pick a weighted task, send it with a deadline of now + its timeout, record how it ended, wait. A controller keeps
the number of users of each kind at what the current stage says, and stops them all after the last stage.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence

from loadgen.behaviour import (
    BEHAVIOURS,
    CUSTOMER_TABLE_DEFINITION,
    DYNAMODB_USER,
    SecondOutcomes,
    Stage,
    UserBehaviour,
    UserLoop,
    classify,
    stage_at,
)
from loadgen.plan import LoadPlan
from services import runtime
from services.client.service_client import ServiceClient
from services.dns.stub import StubResolver
from services.dynamodb.calls import until_done
from services.net.network import Network
from services.throttling.base import ClientPolicy
from services.throttling.settings import client_policy
from services.topology.cloud import Cloud, rng_factory


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
        spawn_rate: float = math.inf,
    ) -> None:
        self.network = network
        self.stub = stub
        self.stages = tuple(stages)
        self.rng_for = rng_for
        self.policy_for = policy_for
        self.behaviours = behaviours
        self.outcomes = SecondOutcomes()
        self._running: dict[str, list[runtime.CancelScope]] = {name: [] for name in behaviours}
        self.spawn_rate = spawn_rate
        self._spawned = 0

    @classmethod
    def for_plan(cls, plan: LoadPlan, cloud: Cloud) -> VirtualUsers:
        """The plan's load against its cloud: its stages, its ports, its client policy."""
        if not plan.stages:
            raise ValueError("the load plan has no stages: no load of its own")
        rng_for = rng_factory(plan.seed)
        stub = StubResolver(cloud.network, plan.resolver, rng_for("users-stub"), cache=True)
        return cls(
            cloud.network,
            stub,
            plan.stages,
            lambda who: rng_for(f"users-{who}"),
            lambda who: client_policy(plan.client, rng_for(f"users-{who}-policy")),
            behaviours=plan.behaviours(),
            spawn_rate=plan.spawn_rate,
        )

    async def run(self, start: float | None = None) -> None:
        """Create the customers' table, then follow the stages until the last one ends.

        Stage times and outcome seconds count from `start` (default: now), normally the run's own start.
        """
        start = runtime.current_time() if start is None else start
        await self._create_table()
        async with runtime.create_task_group() as tg:
            while (stage := stage_at(self.stages, runtime.current_time() - start)) is not None:
                budget = self.spawn_rate  # users started this second, as Locust's spawn rate allows
                for name, scopes in self._running.items():
                    wanted = stage.users.get(name, 0)
                    while len(scopes) < wanted and budget >= 1:
                        budget -= 1
                        scope = runtime.CancelScope()
                        scopes.append(scope)
                        tg.start_soon(self._user, self.behaviours[name], scope, start)
                    while len(scopes) > wanted:
                        scopes.pop().cancel()
                # The next check on the run's next whole second, where stages and load spikes change: the table's
                # set-up took a fraction of a second, which must not shift every stage by that much.
                await runtime.sleep_until(start + math.floor(runtime.current_time() - start) + 1)
            tg.cancel_scope.cancel()

    async def _create_table(self) -> None:
        client = self._client(self.behaviours.get("dynamodb", DYNAMODB_USER), "setup")
        await until_done(client, "CreateTable", CUSTOMER_TABLE_DEFINITION, attempts=30)
        await client.aclose()

    def _client(self, behaviour: UserBehaviour, who: str) -> ServiceClient:
        return ServiceClient(
            self.network,
            self.stub,
            behaviour.service,
            behaviour.port,
            self.rng_for(f"user-{who}"),
            timeout=behaviour.attempt_timeout or behaviour.timeout,
            policy=self.policy_for(who),
        )

    async def _user(self, behaviour: UserBehaviour, scope: runtime.CancelScope, start: float) -> None:
        self._spawned += 1
        who = f"{behaviour.name}-{self._spawned}"
        rng = self.rng_for(who)
        client = self._client(behaviour, who)
        loop = UserLoop(behaviour, rng)
        with scope:
            try:
                while True:
                    request = loop.next_request()
                    began = runtime.current_time()
                    result = await client.call(
                        request.method,
                        request.path,
                        headers=request.headers,
                        content=request.body,
                        deadline=began + behaviour.timeout,
                    )
                    outcome = classify(result.outcome)
                    self.outcomes.record(int(began - start), behaviour.name, result.attempts, outcome)
                    body = result.reply.body if result.reply is not None else b""
                    await runtime.sleep(loop.finished(request, outcome, body))
            finally:
                with runtime.CancelScope(shield=True):
                    await client.aclose()
