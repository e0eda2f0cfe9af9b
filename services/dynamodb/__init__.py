"""The mock DynamoDB: request routers speaking DynamoDB's JSON protocol, over tables kept in memory."""

from services.dynamodb.router import Router

__all__ = ["Router"]
