"""A router under overload and under junk, in virtual time: no acknowledged write is lost, no input yields a 500,
and a bug of ours yields DynamoDB's 500 and an event."""

from __future__ import annotations

import json
import random
from typing import Any

import trio
import trio.testing

from services.dynamodb import Router
from services.dynamodb.tables import Storage
from services.event_kinds import EventKind
from services.events import EventLog
from services.net.http import HttpResponse
from services.net.network import HttpClient
from services.net.virtual_network import VirtualNetwork
from services.node.capacity import CapacitySpec, ServiceTime
from services.node.internal_errors import IN_FULL as INTERNAL_ERRORS_IN_FULL
from tests.helpers import of_kind

ADDRESS = ("127.0.1.1", 8000)
URL = "http://127.0.1.1:8000/"


def headers(operation: str) -> dict[str, str]:
    return {"x-amz-target": f"DynamoDB_20120810.{operation}", "content-type": "application/x-amz-json-1.0"}


async def call(client: HttpClient, operation: str, body: dict[str, Any]) -> HttpResponse:
    return await client.request("POST", URL, content=json.dumps(body).encode(), headers=headers(operation))


TABLE = {
    "TableName": "tbl",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


async def test_every_acknowledged_write_survives_overload(autojump_clock: trio.testing.MockClock) -> None:
    """300 concurrent writers against 4 workers and a queue of 16: some are throttled, every 200 is readable."""
    network = VirtualNetwork()
    spec = CapacitySpec(workers=4, service_time=ServiceTime("exponential", 0.01), queue_limit=16)
    router = Router("router-1", spec=spec, rng=random.Random(1))
    acked: list[int] = []
    statuses: list[int] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(network.serve_http, router.routes, ADDRESS)
        async with network.http_client(timeout=30) as client:
            assert (await call(client, "CreateTable", TABLE)).status_code == 200

            async def writer(n: int) -> None:
                await trio.sleep(random.Random(n).uniform(0, 0.2))
                response = await call(
                    client, "PutItem", {"TableName": "tbl", "Item": {"pk": {"S": "w"}, "sk": {"N": str(n)}}}
                )
                statuses.append(response.status_code)
                if response.status_code == 200:
                    acked.append(n)
                else:
                    assert response.json()["__type"].endswith("#ThrottlingException")

            async with trio.open_nursery() as writers:
                for n in range(300):
                    writers.start_soon(writer, n)
            assert 0 < len(acked) < 300
            for n in acked:
                got = await call(
                    client, "GetItem", {"TableName": "tbl", "Key": {"pk": {"S": "w"}, "sk": {"N": str(n)}}}
                )
                assert got.json()["Item"]["sk"] == {"N": str(n)}
            scanned = await call(client, "Scan", {"TableName": "tbl", "Select": "COUNT"})
            assert scanned.json()["Count"] == len(acked)
        nursery.cancel_scope.cancel()
    assert router.capacity.stats.totals["rejected"] == statuses.count(400)


VALID = {
    "PutItem": {
        "TableName": "tbl",
        "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "m": {"M": {"x": {"L": [{"N": "1"}]}}}},
        "ConditionExpression": "attribute_not_exists(pk) OR #m.x[0] < :v",
        "ExpressionAttributeNames": {"#m": "m"},
        "ExpressionAttributeValues": {":v": {"N": "3"}},
    },
    "GetItem": {"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ProjectionExpression": "pk, m.x[0]"},
    "UpdateItem": {
        "TableName": "tbl",
        "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
        "UpdateExpression": "SET c = if_not_exists(c, :z) + :one ADD s :s REMOVE m.x[0]",
        "ExpressionAttributeValues": {":z": {"N": "0"}, ":one": {"N": "1"}, ":s": {"SS": ["q"]}},
        "ReturnValues": "UPDATED_NEW",
    },
    "DeleteItem": {"TableName": "tbl", "Key": {"pk": {"S": "b"}, "sk": {"N": "2"}}, "ReturnValues": "ALL_OLD"},
    "Query": {
        "TableName": "tbl",
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
        "FilterExpression": "size(s) > :n",
        "ExpressionAttributeValues": {":p": {"S": "a"}, ":a": {"N": "0"}, ":b": {"N": "9"}, ":n": {"N": "0"}},
        "Limit": 5,
    },
    "Scan": {
        "TableName": "tbl",
        "FilterExpression": "contains(s, :q) AND NOT begins_with(pk, :x)",
        "ExpressionAttributeValues": {":q": {"S": "q"}, ":x": {"S": "z"}},
        "Segment": 0,
        "TotalSegments": 2,
    },
    "BatchWriteItem": {
        "RequestItems": {
            "t": [
                {"PutRequest": {"Item": {"pk": {"S": "c"}, "sk": {"N": "3"}}}},
                {"DeleteRequest": {"Key": {"pk": {"S": "a"}, "sk": {"N": "9"}}}},
            ]
        }
    },
    "BatchGetItem": {"RequestItems": {"tbl": {"Keys": [{"pk": {"S": "a"}, "sk": {"N": "1"}}]}}},
    "DescribeTable": {"TableName": "tbl"},
    "ListTables": {"Limit": 10},
    "CreateTable": TABLE,
    "DeleteTable": {"TableName": "gone"},
}
JUNK_VALUES: list[Any] = [
    None,
    0,
    -1,
    10**40,
    1.5,
    "",
    "x" * 300,
    "=:#[(",
    True,
    [],
    [1, "a"],
    {},
    {"S": 1},
    {"N": "1e999"},
    {"N": "abc"},
    {"SS": []},
    {"B": "!!"},
    {"S": "a", "N": "1"},
    {"L": [{"Q": 1}]},
    {"NULL": False},
]
EXPRESSION_TOKENS = [
    "pk",
    "#m",
    ":v",
    "=",
    "<>",
    "<",
    "AND",
    "OR",
    "NOT",
    "(",
    ")",
    ",",
    ".",
    "[",
    "]",
    "0",
    "size(",
    "begins_with(",
    "BETWEEN",
    "IN",
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
    "+",
    "-",
    "if_not_exists(",
    "list_append(",
    "attribute_type(",
    "x",
    "'",
    '"',
    "\\",
]


def mutate(value: Any, rng: random.Random, depth: int = 0) -> Any:
    """A random distortion somewhere inside a JSON value."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        copy = dict(value)
        choice = rng.random()
        if choice < 0.2:
            del copy[key]
        elif choice < 0.3:
            copy[rng.choice(["Bogus", "Key", "Item", "Limit", "Select", "ExclusiveStartKey"])] = rng.choice(JUNK_VALUES)
        elif isinstance(value[key], str) and "Expression" in key and rng.random() < 0.7:
            copy[key] = " ".join(rng.choice(EXPRESSION_TOKENS) for _ in range(rng.randrange(1, 9)))
        else:
            copy[key] = mutate(value[key], rng, depth + 1)
        return copy
    if isinstance(value, list) and value and rng.random() < 0.7:
        copy_list = list(value)
        i = rng.randrange(len(copy_list))
        copy_list[i] = mutate(copy_list[i], rng, depth + 1)
        return copy_list * rng.choice([1, 1, 1, 30])
    return rng.choice(JUNK_VALUES)


def junk_request(rng: random.Random) -> tuple[dict[str, str], bytes]:
    operation = rng.choice(list(VALID))
    head = headers(operation)
    kind = rng.random()
    if kind < 0.08:
        head["x-amz-target"] = rng.choice(
            ["", "DynamoDB_20120810", "DynamoDB_20120810.Nope", "Other.PutItem", "DynamoDB_20120810.putitem"]
        )
    elif kind < 0.14:
        head["content-type"] = rng.choice(
            ["", "text/plain", "application/xml", "application/x-amz-json-1.0; charset=nope"]
        )
    if kind < 0.2 or rng.random() < 0.8:
        body = json.dumps(mutate(VALID[operation], rng)).encode()
    elif rng.random() < 0.5:
        body = json.dumps(VALID[operation]).encode()[: rng.randrange(0, 40)]
    else:
        body = rng.randbytes(rng.randrange(0, 200))
    return head, body


async def test_a_thousand_malformed_requests_get_dynamodb_shaped_4xx(autojump_clock: trio.testing.MockClock) -> None:
    """1,500 mutated bodies and headers: every answer is a 200 or a 4xx with `__type`, never a 500 or a crash."""
    network = VirtualNetwork()
    events = EventLog(trio.current_time)
    router = Router("router-1", rng=random.Random(2), events=events)
    rng = random.Random(20251019)
    seen: dict[str, int] = {}
    async with trio.open_nursery() as nursery:
        await nursery.start(network.serve_http, router.routes, ADDRESS)
        async with network.http_client(timeout=30) as client:
            assert (await call(client, "CreateTable", TABLE)).status_code == 200
            for _ in range(1500):
                head, body = junk_request(rng)
                response = await client.request("POST", URL, content=body, headers=head)
                assert response.status_code == 200 or 400 <= response.status_code < 500, (head, body, response.text)
                if response.status_code != 200:
                    error = response.json()
                    assert error["__type"].count("#") == 1, error
                    code = error["__type"].split("#")[1]
                    seen[code] = seen.get(code, 0) + 1
            assert (await call(client, "DescribeTable", {"TableName": "tbl"})).status_code == 200
        nursery.cancel_scope.cancel()
    assert router.internal_errors.count == 0, [e.data["traceback"] for e in of_kind(events, EventKind.INTERNAL_ERROR)]
    assert sum(seen.values()) >= 1000 and {
        "ValidationException",
        "SerializationException",
        "UnknownOperationException",
    } <= set(seen)


async def test_metrics_are_prometheus_text(autojump_clock: trio.testing.MockClock) -> None:
    """GET /metrics: counters per outcome, queue and in-flight gauges and latency quantiles, in text format 0.0.4."""
    network = VirtualNetwork()
    router = Router("router-1", rng=random.Random(3))
    async with trio.open_nursery() as nursery:
        await nursery.start(network.serve_http, router.routes, ADDRESS)
        async with network.http_client(timeout=30) as client:
            for _ in range(5):
                await call(client, "ListTables", {})
            metrics = await client.get(URL + "metrics")
        nursery.cancel_scope.cancel()
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = metrics.text.splitlines()
    assert 'cascadesim_requests_total{node="router-1",outcome="completed"} 5' in lines
    assert "# TYPE cascadesim_latency_seconds summary" in lines
    assert any(line.startswith('cascadesim_latency_seconds{node="router-1",quantile="0.99"}') for line in lines)


class BrokenStorage(Storage):
    """Storage with a bug: creating a table raises something that is not a DynamoDB error."""

    def create_table(self, request: dict[str, Any], now: float) -> dict[str, Any]:
        raise RuntimeError("a bug of ours")


async def test_a_bug_inside_a_router_is_a_dynamodb_500_and_an_event(autojump_clock: trio.testing.MockClock) -> None:
    """An exception from a handler: 500 InternalServerError in DynamoDB's error shape, an internal_error event
    (type, text, traceback) for each of the first ten, then only counts (at 100), never one event per request."""
    network = VirtualNetwork()
    events = EventLog(trio.current_time)
    router = Router("router-1", BrokenStorage(), rng=random.Random(4), events=events)
    async with trio.open_nursery() as nursery:
        await nursery.start(network.serve_http, router.routes, ADDRESS)
        async with network.http_client(timeout=30) as client:
            responses = [await call(client, "CreateTable", TABLE) for _ in range(150)]
        nursery.cancel_scope.cancel()
    assert {r.status_code for r in responses} == {500}
    assert responses[0].headers["content-type"] == "application/x-amz-json-1.0"
    assert "x-amzn-RequestId" in responses[0].headers
    assert responses[0].json() == {
        "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
        "message": "Internal server error",
    }
    full = of_kind(events, EventKind.INTERNAL_ERROR)
    assert len(full) == INTERNAL_ERRORS_IN_FULL and router.internal_errors.count == 150
    assert {(e.source, e.message, e.data["target"]) for e in full} == {
        ("router-1", "RuntimeError: a bug of ours", "DynamoDB_20120810.CreateTable")
    }
    assert "in create_table" in full[0].data["traceback"]
    assert [e.data["count"] for e in of_kind(events, EventKind.INTERNAL_ERRORS_COUNTED)] == [100]
