"""Unmodified boto3 against a live router: every operation, conditional failures, paging, batches, retries."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.config import Config
from botocore.exceptions import ClientError

from services.dynamodb import Router
from services.node.capacity import CapacitySpec, ServiceTime
from tests.services.dynamodb.conftest import LiveRouter, serve_in_thread

pytestmark = pytest.mark.live


def client(url: str, **config: Any) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="anything",
        aws_secret_access_key="anything",
        config=Config(**config),
    )


def create(ddb: Any, name: str = "orders") -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def test_table_lifecycle_and_item_operations(live_router: LiveRouter) -> None:
    """CreateTable, DescribeTable, ListTables, PutItem, GetItem, UpdateItem, DeleteItem, DeleteTable via boto3."""
    ddb = client(live_router.url)
    create(ddb)
    with pytest.raises(ClientError) as exists:
        create(ddb)
    assert exists.value.response["Error"]["Code"] == "ResourceInUseException"
    assert ddb.describe_table(TableName="orders")["Table"]["TableStatus"] == "ACTIVE"
    assert ddb.list_tables()["TableNames"] == ["orders"]
    ddb.put_item(
        TableName="orders", Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "qty": {"N": "2"}, "tags": {"SS": ["x", "y"]}}
    )
    got = ddb.get_item(
        TableName="orders",
        Key={"pk": {"S": "a"}, "sk": {"N": "1"}},
        ProjectionExpression="qty, #t",
        ExpressionAttributeNames={"#t": "tags"},
    )
    assert got["Item"] == {"qty": {"N": "2"}, "tags": {"SS": ["x", "y"]}}
    updated = ddb.update_item(
        TableName="orders",
        Key={"pk": {"S": "a"}, "sk": {"N": "1"}},
        UpdateExpression="SET qty = qty + :one, note = if_not_exists(note, :n), hist = list_append(if_not_exists(hist, :empty), :h) REMOVE gone ADD seen :one DELETE tags :x",
        ExpressionAttributeValues={
            ":one": {"N": "1"},
            ":n": {"S": "new"},
            ":empty": {"L": []},
            ":h": {"L": [{"S": "v1"}]},
            ":x": {"SS": ["x"]},
        },
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert updated["qty"] == {"N": "3"} and updated["note"] == {"S": "new"} and updated["seen"] == {"N": "1"}
    assert updated["tags"] == {"SS": ["y"]} and updated["hist"] == {"L": [{"S": "v1"}]}
    with pytest.raises(ClientError) as failed:
        ddb.put_item(
            TableName="orders",
            Item={"pk": {"S": "a"}, "sk": {"N": "1"}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    assert failed.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    old = ddb.delete_item(TableName="orders", Key={"pk": {"S": "a"}, "sk": {"N": "1"}}, ReturnValues="ALL_OLD")
    assert old["Attributes"]["qty"] == {"N": "3"}
    assert "Item" not in ddb.get_item(TableName="orders", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    ddb.delete_table(TableName="orders")
    with pytest.raises(ClientError) as missing:
        ddb.describe_table(TableName="orders")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_batches_and_paginated_query_and_scan(live_router: LiveRouter) -> None:
    """BatchWriteItem of 25, BatchGetItem, and Query/Scan pages joined by LastEvaluatedKey (boto3 paginators)."""
    ddb = client(live_router.url)
    create(ddb)
    for batch in range(4):
        response = ddb.batch_write_item(
            RequestItems={
                "orders": [
                    {
                        "PutRequest": {
                            "Item": {
                                "pk": {"S": f"p{batch % 2}"},
                                "sk": {"N": str(batch * 25 + i)},
                                "even": {"BOOL": i % 2 == 0},
                            }
                        }
                    }
                    for i in range(25)
                ]
            }
        )
        assert response["UnprocessedItems"] == {}
    got = ddb.batch_get_item(
        RequestItems={"orders": {"Keys": [{"pk": {"S": "p0"}, "sk": {"N": str(n)}} for n in (0, 1, 2)]}}
    )
    assert sorted(int(i["sk"]["N"]) for i in got["Responses"]["orders"]) == [0, 1, 2]
    pages = list(
        ddb.get_paginator("query").paginate(
            TableName="orders",
            KeyConditionExpression="pk = :p AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues={":p": {"S": "p0"}, ":lo": {"N": "10"}, ":hi": {"N": "60"}},
            ScanIndexForward=False,
            PaginationConfig={"PageSize": 7},
        )
    )
    keys = [int(i["sk"]["N"]) for page in pages for i in page["Items"]]
    assert len(pages) > 1 and all("LastEvaluatedKey" in p for p in pages[:-1])
    assert keys == sorted([n for n in range(100) if (n // 25) % 2 == 0 and 10 <= n <= 60], reverse=True)
    scanned = list(
        ddb.get_paginator("scan").paginate(
            TableName="orders",
            FilterExpression="even = :t",
            ExpressionAttributeValues={":t": {"BOOL": True}},
            PaginationConfig={"PageSize": 9},
        )
    )
    assert len(scanned) > 5 and sum(p["ScannedCount"] for p in scanned) == 100
    assert sum(p["Count"] for p in scanned) == 4 * 13  # i = 0, 2, …, 24 in each batch of 25


def test_the_boto3_resource_layer_works_too(live_router: LiveRouter) -> None:
    """boto3's Table resource builds its own expressions (Key/Attr conditions) and decodes numbers as Decimal."""
    ddb = boto3.resource(
        "dynamodb",
        endpoint_url=live_router.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    create(ddb.meta.client, "things")
    table = ddb.Table("things")
    with table.batch_writer() as writer:
        for n in range(30):
            writer.put_item(Item={"pk": "k", "sk": n, "colour": "red" if n % 3 else "blue"})
    found = table.query(
        KeyConditionExpression=Key("pk").eq("k") & Key("sk").gte(20), FilterExpression=Attr("colour").eq("blue")
    )
    assert [i["sk"] for i in found["Items"]] == [Decimal(21), Decimal(24), Decimal(27)]


@pytest.fixture
def tiny_router() -> Iterator[LiveRouter]:
    """One worker, 0.5 s per request, no queue: a second concurrent request is throttled."""
    spec = CapacitySpec(workers=1, service_time=ServiceTime("constant", 0.5), queue_limit=0)
    yield from serve_in_thread(Router("router-tiny", spec=spec), "127.0.9.22")


def concurrently(calls: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(0..calls-1) in threads released at the same moment; their results (or ClientError codes)."""
    barrier = threading.Barrier(calls)
    results: list[Any] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            results.append(fn(n))
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=run, args=(n,)) for n in range(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_overload_returns_throttling_that_botocore_standard_mode_retries(tiny_router: LiveRouter) -> None:
    """One worker and no queue: concurrent calls get ThrottlingException, which botocore's standard mode retries."""
    retrying = client(tiny_router.url, retries={"mode": "standard", "max_attempts": 10})
    create(retrying)
    attempts = concurrently(
        2,
        lambda n: retrying.put_item(TableName="orders", Item={"pk": {"S": "a"}, "sk": {"N": str(n)}})[
            "ResponseMetadata"
        ]["RetryAttempts"],
    )
    assert sorted(attempts)[0] == 0 and sorted(attempts)[1] >= 1
    assert tiny_router.router.capacity.stats.totals["rejected"] >= 1
    once = client(tiny_router.url, retries={"mode": "standard", "max_attempts": 1})
    once.describe_table(TableName="orders")  # the client's first call loads its models; keep that out of the race
    codes = concurrently(
        3, lambda n: once.put_item(TableName="orders", Item={"pk": {"S": "b"}, "sk": {"N": str(n)}}) and "OK"
    )
    assert "ThrottlingException" in codes and "OK" in codes, codes
