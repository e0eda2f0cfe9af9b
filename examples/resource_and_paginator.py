"""An ordinary boto3 program that uses more than the client layer: the resource API (Table, batch_writer,
conditions) and a paginator, round after round, saying how each round went.

    cascadesim exec scenarios/dns-race.toml -- python examples/resource_and_paginator.py

Each round writes a few items through `Table.batch_writer()`, reads one back with `Table.get_item()`, and pages
through the round's items with the `query` paginator (2 a page, so that the second page's request carries
`ExclusiveStartKey`). While DynamoDB's record is empty a round fails with EndpointConnectionError; once DNS is
back, rounds succeed again. The exit status is 0 when the last round succeeded, 1 when it did not.
"""

from __future__ import annotations

import argparse
import time

import boto3
from boto3.dynamodb.conditions import Key
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

TABLE = "events-by-day"


def ensure_table(dynamodb: object) -> object:
    try:
        table = dynamodb.create_table(  # type: ignore[attr-defined]
            TableName=TABLE,
            KeySchema=[{"AttributeName": "day", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "day", "AttributeType": "S"},
                {"AttributeName": "at", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        table.wait_until_exists()
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        table = dynamodb.Table(TABLE)  # type: ignore[attr-defined]
    return table


def one_round(table: object, round_number: int) -> str:
    with table.batch_writer() as batch:  # type: ignore[attr-defined]
        for i in range(3):
            batch.put_item(Item={"day": "2025-10-19", "at": round_number * 10 + i, "what": f"round {round_number}"})
    item = table.get_item(Key={"day": "2025-10-19", "at": round_number * 10})["Item"]  # type: ignore[attr-defined]
    paginator = table.meta.client.get_paginator("query")  # type: ignore[attr-defined]
    pages = items = 0
    for page in paginator.paginate(
        TableName=TABLE,
        KeyConditionExpression=Key("day").eq("2025-10-19")
        & Key("at").between(round_number * 10, round_number * 10 + 2),
        PaginationConfig={"PageSize": 2},
    ):
        pages += 1
        items += len(page["Items"])
    return f"ok: wrote 3, read {item['what']!r}, paged {items} items in {pages} pages"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=57.0, help="how long to keep going (default 57)")
    args = parser.parse_args()
    config = Config(retries={"mode": "standard"}, connect_timeout=1, read_timeout=2)
    dynamodb = boto3.resource("dynamodb", config=config)
    table = ensure_table(dynamodb)
    start = time.monotonic()
    round_number, last_ok = 0, False
    while time.monotonic() - start < args.seconds:
        began = time.monotonic()
        round_number += 1
        try:
            outcome, last_ok = one_round(table, round_number), True
        except EndpointConnectionError as exc:
            outcome, last_ok = f"EndpointConnectionError: {exc}", False
        except ClientError as exc:
            outcome, last_ok = f"{exc.response['Error']['Code']}: {exc}", False
        print(f"{began - start:6.1f} s  round {round_number:3}  {outcome}", flush=True)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - began)))
    return 0 if last_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
