"""Real error replies of the three services, captured from their own ASGI apps in-process (no sockets).

Each case puts a node in the state that makes it answer so: a token bucket with one token (the second call is
throttled), one sandbox busy, no droplet holding a lease, a storage that fails. The capture is the reply's
status, headers and body exactly as the node sent them.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from services.dynamodb import Router
from services.dynamodb.tables import Storage, Table
from services.ec2.api import Ec2Api
from services.ec2.dwfm import DropletWorkflowManager, DwfmSettings
from services.ec2.fleet import Fleet
from services.ec2.netmgr import NetworkManager
from services.errors import CallFailed
from services.events import EventLog
from services.lambda_.function import LambdaService, LambdaSettings
from services.node.capacity import CapacityModel, CapacitySpec
from services.throttling.admission import TokenBucketLimit


@dataclass(frozen=True)
class Captured:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Case:
    name: str
    expected: str  # the reports' outcome class
    retryable: bool


CASES = (
    Case("dynamodb-throttling", "throttled", True),
    Case("dynamodb-500", "server_error", True),
    Case("dynamodb-4xx", "client_error", False),
    Case("ec2-request-limit", "throttled", True),
    Case("ec2-500", "server_error", True),
    Case("ec2-4xx", "client_error", False),
    Case("lambda-429", "throttled", True),
    Case("lambda-500", "server_error", True),
    Case("lambda-4xx", "client_error", False),
)

DYNAMODB = {"content-type": "application/x-amz-json-1.0"}
ONE_TOKEN = 1e-9  # a token bucket that never refills within a test


async def post(app: Any, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    """A JSON POST to a node's ASGI app, in-process."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node") as client:
        return await client.post(path, content=json.dumps(body).encode(), headers=headers or {})


async def _post(app: Any, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Captured:
    response = await post(app, path, body, headers)
    return Captured(response.status_code, list(response.headers.multi_items()), response.content)


def _dynamodb(operation: str) -> dict[str, str]:
    return {**DYNAMODB, "x-amz-target": f"DynamoDB_20120810.{operation}"}


class BrokenStorage(Storage):
    """A storage whose every table lookup fails: a bug of ours, which DynamoDB answers with a 500."""

    def table(self, name: str) -> Table:
        raise RuntimeError("the storage is broken on purpose")


TABLE = {
    "TableName": "orders",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}
GET = {"TableName": "orders", "Key": {"pk": {"S": "a"}}}


class FakeDynamoDb:
    """What Lambda's config read gets from DynamoDB: the function's item, no item, or no answer at all."""

    name, port = "dynamodb.us-east-1.cloud.test", 8000

    def __init__(self, item: dict[str, Any] | None, *, fails: bool = False) -> None:
        self.item, self.fails = item, fails

    async def request(self, *args: Any, **kwargs: Any) -> httpx.Response:
        if self.fails:
            raise CallFailed(self.name, "DNS: NOERROR with no addresses (NODATA)")
        return httpx.Response(200, json={} if self.item is None else {"Item": self.item})


def _lambda(dynamodb: FakeDynamoDb) -> LambdaService:
    settings = LambdaSettings(sandboxes=1, max_sandboxes=1, queue_limit=0)
    return LambdaService(settings, dynamodb, dynamodb, random.Random(1))  # type: ignore[arg-type]


INVOKE = "/2015-03-31/functions/orders-handler/invocations"
FUNCTION = {"name": {"S": "orders-handler"}, "duration": {"N": "1.0"}}


async def capture() -> dict[str, Captured]:
    """Every case's reply (run it on a clock that jumps, e.g. trio's autojump_clock)."""
    replies: dict[str, Captured] = {}

    throttled = Router("router-1", admission=TokenBucketLimit(rate=ONE_TOKEN, burst=1))
    await _post(throttled.routes.asgi, "/", TABLE, _dynamodb("CreateTable"))
    replies["dynamodb-throttling"] = await _post(throttled.routes.asgi, "/", GET, _dynamodb("GetItem"))
    broken = Router("router-2", BrokenStorage())
    replies["dynamodb-500"] = await _post(broken.routes.asgi, "/", GET, _dynamodb("GetItem"))
    replies["dynamodb-4xx"] = await _post(Router("router-3").routes.asgi, "/", GET, _dynamodb("GetItem"))

    events = EventLog(anyio.current_time)
    rng = random.Random(1)
    dwfm = DropletWorkflowManager(DwfmSettings(droplets=1), None, events, rng)  # type: ignore[arg-type]
    api = Ec2Api("ec2-1", dwfm, Fleet(), CapacitySpec(), rng, NetworkManager(events, rng))
    replies["ec2-500"] = await _post(api.routes.asgi, "/", {"Action": "RunInstances", "MinCount": 1})  # no lease held
    replies["ec2-4xx"] = await _post(api.routes.asgi, "/", {"Action": "RebootEverything"})
    api.capacity = CapacityModel(CapacitySpec(), rng, admission=TokenBucketLimit(rate=ONE_TOKEN, burst=1))
    await _post(api.routes.asgi, "/", {"Action": "DescribeInstances"})
    replies["ec2-request-limit"] = await _post(api.routes.asgi, "/", {"Action": "DescribeInstances"})

    busy = _lambda(FakeDynamoDb(FUNCTION))
    async with anyio.create_task_group() as tg:
        tg.start_soon(_post, busy.routes.asgi, INVOKE, {"order": 1})  # takes the only sandbox for a second
        await anyio.sleep(0.1)
        replies["lambda-429"] = await _post(busy.routes.asgi, INVOKE, {"order": 2})
    replies["lambda-500"] = await _post(_lambda(FakeDynamoDb(None, fails=True)).routes.asgi, INVOKE, {"order": 3})
    replies["lambda-4xx"] = await _post(_lambda(FakeDynamoDb(None)).routes.asgi, INVOKE, {"order": 4})
    return replies
