"""An ordinary boto3 program: it reads one item from DynamoDB once a second and says how each call went.

Nothing in it knows about cascadesim. Put it through the DNS race:

    cascadesim exec scenarios/dns-race.toml -- python examples/getitem_every_second.py

Under `exec` its calls succeed before the race, fail with botocore's EndpointConnectionError while DynamoDB's
record is empty, and succeed again once the operators have restored DNS. Its exit status is 0 when its last call
succeeded, 1 when it did not.
"""

from __future__ import annotations

import argparse
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

TABLE = "greetings"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=57.0, help="how long to keep calling (default 57)")
    parser.add_argument("--retry-mode", default="standard", choices=["legacy", "standard", "adaptive"])
    args = parser.parse_args()
    dynamodb = boto3.client(
        "dynamodb", config=Config(retries={"mode": args.retry_mode}, connect_timeout=1, read_timeout=2)
    )
    try:
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    dynamodb.put_item(TableName=TABLE, Item={"id": {"S": "hello"}, "text": {"S": "hello, world"}})

    start = time.monotonic()
    last_ok = False
    counts = {"ok": 0, "EndpointConnectionError": 0, "other": 0}
    while time.monotonic() - start < args.seconds:
        began = time.monotonic()
        try:
            item = dynamodb.get_item(TableName=TABLE, Key={"id": {"S": "hello"}})["Item"]
            outcome, last_ok = f"ok: {item['text']['S']}", True
            counts["ok"] += 1
        except EndpointConnectionError as exc:
            outcome, last_ok = f"EndpointConnectionError: {exc}", False
            counts["EndpointConnectionError"] += 1
        except ClientError as exc:
            outcome, last_ok = f"{exc.response['Error']['Code']}: {exc}", False
            counts["other"] += 1
        print(f"{began - start:6.1f} s  GetItem  {outcome}", flush=True)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - began)))
    print(f"calls: {counts}; last call {'succeeded' if last_ok else 'failed'}", flush=True)
    return 0 if last_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
