"""Policy sets in action: every set drives the internal client and the capacity model of an overloaded DynamoDB."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from scenarios.config.policies import PolicySet, load_policy_set, policy_sets
from scenarios.config.schema import ScenarioError
from services import runtime
from services.client.service_client import ServiceClient
from services.dns.authority import Authority
from services.dns.cache import ResolverCache
from services.dns.resolver import SharedResolver
from services.dns.stub import StubResolver
from services.dns.zone import Action, Change, RecordSet, WeightedAddress, Zone
from services.dynamodb import Router
from services.errors import CallFailed
from services.net.virtual_network import VirtualNetwork
from services.node.capacity import CapacitySpec, ServiceTime
from services.runtime.kernel import run_in_virtual_time
from services.throttling.settings import client_policy, server_policy

NAME = "dynamodb.us-east-1.cloud.test"
REQUIRED = {
    "naive",
    "backoff-jitter",
    "aws-sdk-standard",
    "aws-sdk-adaptive",
    "retry-budget",
    "adaptive-concurrency",
    "load-shedding",
}


@dataclass
class Run:
    logical: int
    attempts: int
    succeeded: int
    shed_or_refused: int

    @property
    def amplification(self) -> float:
        return self.attempts / self.logical


def overload(policy: PolicySet, seed: int = 1, seconds: float = 5.0, offered: float = 200.0) -> Run:
    """Poisson PutItems at 2× the router's capacity (one worker, 10 ms), spread over 20 clients."""

    async def main() -> Run:
        network = VirtualNetwork(latency=0.001)
        zone = Zone()
        zone.change([Change(Action.UPSERT, RecordSet(NAME, (WeightedAddress("127.0.1.1"),), 60, 1))])
        server = server_policy(policy.server.settings())
        spec = CapacitySpec(
            workers=1, service_time=ServiceTime("exponential", 0.01), queue_limit=64, drop_expired=server.drop_expired
        )
        router = Router(
            "router-1", spec=spec, rng=random.Random(seed), admission=server.admission, discipline=server.discipline
        )
        rng = random.Random(seed)
        logical = succeeded = 0
        clients: list[ServiceClient] = []
        async with runtime.create_task_group() as nursery:
            await nursery.start(Authority(zone, random.Random(seed)).serve, network, ("127.0.0.1", 5300))
            resolver = SharedResolver(network, ("127.0.0.1", 5300), ResolverCache(), random.Random(seed))
            await nursery.start(resolver.serve, ("127.0.0.1", 5301))
            await nursery.start(network.serve_http, router.routes, ("127.0.1.1", 8000))
            stub = StubResolver(network, ("127.0.0.1", 5301), random.Random(seed))
            clients = [
                ServiceClient(
                    network,
                    stub,
                    NAME,
                    8000,
                    random.Random(f"{seed}:{i}"),
                    timeout=2.0,
                    policy=client_policy(policy.client.settings(), random.Random(f"{seed}:p{i}")),
                )
                for i in range(20)
            ]
            body = json.dumps(
                {
                    "TableName": "load",
                    "BillingMode": "PAY_PER_REQUEST",
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                }
            ).encode()
            headers = {"content-type": "application/x-amz-json-1.0"}
            await clients[0].request(
                "POST", "/", headers={**headers, "x-amz-target": "DynamoDB_20120810.CreateTable"}, content=body
            )
            clients[0].attempts = 0

            async def put(n: int) -> None:
                nonlocal succeeded
                item = json.dumps({"TableName": "load", "Item": {"pk": {"S": f"k{n}"}}}).encode()
                try:
                    response = await clients[n % 20].request(
                        "POST",
                        "/",
                        headers={**headers, "x-amz-target": "DynamoDB_20120810.PutItem"},
                        content=item,
                        deadline=runtime.current_time() + 2.0,
                    )
                except CallFailed:
                    return
                succeeded += response.status_code == 200

            async with runtime.create_task_group() as load:
                end = runtime.current_time() + seconds
                while runtime.current_time() < end:
                    await runtime.sleep(rng.expovariate(offered))
                    load.start_soon(put, logical)
                    logical += 1
            nursery.cancel_scope.cancel()
        totals = router.capacity.stats.totals
        return Run(logical, sum(c.attempts for c in clients), succeeded, totals["rejected"] + totals["shed"])

    return run_in_virtual_time(main)


def test_the_shipped_policy_sets_load_and_include_the_required_ones() -> None:
    """scenarios/policies/ holds at least the seven sets the issue names, each valid and named after its file."""
    assert set(policy_sets()) >= REQUIRED


def test_policies_produce_measurably_different_retry_amplification() -> None:
    """Same overload, different sets: unbudgeted 5-attempt retries amplify most; quotas, budgets, token gates,
    rate limiters and breakers each cut the attempts per request (local rejections are not attempts)."""
    runs = {name: overload(policy) for name, policy in policy_sets().items()}
    amp = {name: run.amplification for name, run in runs.items()}
    table = "; ".join(  # the figures behind any failure: attempts per request, ok/logical, refused or shed
        f"{name} {run.amplification:.2f} ok {run.succeeded}/{run.logical} refused/shed {run.shed_or_refused}"
        for name, run in sorted(runs.items(), key=lambda kv: kv[1].amplification)
    )
    unbudgeted = min(amp["naive"], amp["backoff-jitter"])
    assert unbudgeted > 3, table
    assert all(a < unbudgeted for n, a in amp.items() if n not in ("naive", "backoff-jitter")), table
    assert amp["retry-budget"] < amp["backoff-jitter"], table  # same schedule, within a budget
    assert amp["aws-sdk-adaptive"] < amp["aws-sdk-standard"] < 2.0, table  # 3 attempts, a quota; adaptive paces
    assert max(amp["grpc-retry-throttling"], amp["sre-throttling"]) < amp["aws-sdk-standard"], table
    assert amp["circuit-breaker"] < 1.0, table  # an open breaker does not even send
    assert runs["load-shedding"].shed_or_refused > 0 and runs["adaptive-concurrency"].shed_or_refused > 0, table
    assert len({round(a, 2) for a in amp.values()}) >= 5, table


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('name = "x"\n[client]\nretry = "sometimes"\n', "client.retry = 'sometimes': must be one of"),
        ('name = "x"\n[server]\nmax_queue = -1\n', "server.max_queue = -1: must be at least 0"),
        ('name = "x"\n[client]\nretires = 3\n', "client.retires: unknown key"),
        ('name = "x"\n[client]\nmax_attempts = 2.5\n', "client.max_attempts = 2.5: must be an integer"),
        ('[client]\nretry = "none"\n', "name: required but missing"),
    ],
)
def test_a_malformed_policy_set_gets_one_line_naming_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    """Policy sets are validated like scenarios."""
    path = tmp_path / "x.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_policy_set(path)
    assert str(caught.value).startswith(f"{path}: ") and expected in str(caught.value) and "\n" not in str(caught.value)


def test_server_policies_are_fresh_per_node() -> None:
    """Two nodes built from one set never share an adaptive limit or a queue."""
    policy = policy_sets()["adaptive-concurrency"]
    assert server_policy(policy.server.settings()).admission is not server_policy(policy.server.settings()).admission
