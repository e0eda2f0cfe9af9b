"""A small order service on boto3: an order is written to DynamoDB, then a Lambda function sends its receipt.

It is ordinary AWS code: it knows nothing of cascadesim. Its clients take their endpoints, region and credentials
from the environment, as any boto3 program does, so the same code runs against AWS or, under `cascadesim exec` or
the pytest plugin, against the replayed outage. Only its retry configuration is chosen here, because that is what
its tests compare.

    service = OrderService(retry_mode="standard")
    service.create_table()
    service.place("order-1", item="book", quantity=2)   # raises when the order could not be placed
"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

TABLE = "orders"
RECEIPTS = "orders-handler"  # the function the cloud's Lambda serves


class OrderService:
    def __init__(self, retry_mode: str = "standard", *, table: str = TABLE) -> None:
        config = Config(retries={"mode": retry_mode}, connect_timeout=1, read_timeout=3)
        self.table = table
        self.dynamodb = boto3.client("dynamodb", config=config)
        self.lambda_ = boto3.client("lambda", config=config)
        self.attempts = 0  # HTTP attempts, retries included: what the service really sent
        self._lock = threading.Lock()
        for client in (self.dynamodb, self.lambda_):
            client.meta.events.register("before-send", self._count)

    def _count(self, **_: Any) -> None:
        with self._lock:
            self.attempts += 1

    def create_table(self) -> None:
        try:
            self.dynamodb.create_table(
                TableName=self.table,
                KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise

    def place(self, order_id: str, *, item: str, quantity: int) -> None:
        """Store the order, then send its receipt. Raises botocore's error when either fails; placing the same
        order again is safe (the write is conditional, so a retry after a lost reply does not store it twice)."""
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={"order_id": {"S": order_id}, "item": {"S": item}, "quantity": {"N": str(quantity)}},
                ConditionExpression="attribute_not_exists(order_id)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        self.lambda_.invoke(FunctionName=RECEIPTS, Payload=json.dumps({"order_id": order_id}).encode())

    def close(self) -> None:
        """Close the clients' connections."""
        self.dynamodb.close()
        self.lambda_.close()

    def get(self, order_id: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(TableName=self.table, Key={"order_id": {"S": order_id}}, ConsistentRead=True)
        found: dict[str, Any] | None = item.get("Item")  # absent when there is no such order
        return found
