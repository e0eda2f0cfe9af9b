"""The AWS Architecture Blog's backoff experiment ("Exponential Backoff And Jitter", 2015), re-run in virtual time.

N clients start together and each must update one item with optimistic concurrency: read its version, write
version + 1 on condition that nobody else did. A loser sleeps per its backoff and tries again. The post's
parameters: base 5 ms, cap 2 s, a network delay of about 10 ms. Here the item lives in the mock DynamoDB behind
VirtualNetwork (5 ms each way); work is the number of calls, time is when the last client succeeds.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from services import runtime
from services.dynamodb import Router
from services.net.http import HttpResponse
from services.net.network import HttpClient
from services.net.virtual_network import VirtualNetwork
from services.node.capacity import CapacitySpec, ServiceTime
from services.runtime.kernel import run_in_virtual_time
from services.throttling.backoff import ExponentialBackoff, Jitter

URL = "http://127.0.1.1:8000/"
CLIENTS = 50


@dataclass
class Result:
    calls: int
    seconds: float


async def post(client: HttpClient, operation: str, body: dict[str, object]) -> HttpResponse:
    headers = {"x-amz-target": f"DynamoDB_20120810.{operation}", "content-type": "application/x-amz-json-1.0"}
    return await client.request("POST", URL, content=json.dumps(body).encode(), headers=headers)


def contend(jitter: Jitter, seed: int) -> Result:
    async def main() -> Result:
        network = VirtualNetwork(latency=0.010, latency_sd=0.002, rng=random.Random(seed))
        router = Router("router-1", spec=CapacitySpec(workers=10_000, service_time=ServiceTime("constant", 0.0)))
        calls = 0
        finished: list[float] = []
        async with runtime.create_task_group() as nursery:
            await nursery.start(network.serve_http, router.routes, ("127.0.1.1", 8000))
            async with network.http_client(timeout=60) as client:
                key = {"pk": {"S": "counter"}}
                await post(
                    client,
                    "CreateTable",
                    {
                        "TableName": "occ",
                        "BillingMode": "PAY_PER_REQUEST",
                        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    },
                )
                await post(client, "PutItem", {"TableName": "occ", "Item": {**key, "version": {"N": "0"}}})
                start = runtime.current_time()

                async def occ_client(n: int) -> None:
                    nonlocal calls
                    backoff = ExponentialBackoff(base=0.005, cap=2.0, jitter=jitter, rng=random.Random(f"{seed}:{n}"))
                    previous, attempt = 0.0, 1
                    while True:
                        item = (
                            await post(client, "GetItem", {"TableName": "occ", "Key": key, "ConsistentRead": True})
                        ).json()["Item"]
                        version = int(item["version"]["N"])
                        written = await post(
                            client,
                            "UpdateItem",
                            {
                                "TableName": "occ",
                                "Key": key,
                                "UpdateExpression": "SET version = :new",
                                "ConditionExpression": "version = :old",
                                "ExpressionAttributeValues": {
                                    ":old": {"N": str(version)},
                                    ":new": {"N": str(version + 1)},
                                },
                            },
                        )
                        calls += 1  # the post counts writes
                        if written.status_code == 200:
                            finished.append(runtime.current_time() - start)
                            return
                        assert written.json()["__type"].endswith("#ConditionalCheckFailedException")
                        previous = backoff.delay(attempt, previous)
                        attempt += 1
                        await runtime.sleep(previous)

                async with runtime.create_task_group() as clients:
                    for n in range(CLIENTS):
                        clients.start_soon(occ_client, n)
            nursery.cancel_scope.cancel()
        return Result(calls, max(finished))

    return run_in_virtual_time(main)


def test_jitter_beats_plain_exponential_backoff_and_full_jitter_does_least_work() -> None:
    """As in the post: no-jitter backoff does far more work and takes far longer; full jitter does the least work."""
    results = {
        jitter: [contend(jitter, seed) for seed in range(3)] for jitter in ("none", "full", "equal", "decorrelated")
    }
    work = {j: sum(r.calls for r in rs) for j, rs in results.items()}
    time = {j: sum(r.seconds for r in rs) for j, rs in results.items()}
    figures = {j: (work[j], round(time[j], 2)) for j in work}  # (calls, seconds) per jitter, over three seeds
    assert work["none"] > 1.5 * work["full"], figures
    assert time["none"] > 5 * time["full"], figures
    assert work["full"] == min(work.values()), figures
