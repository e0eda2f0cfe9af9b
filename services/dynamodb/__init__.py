"""The mock DynamoDB: its request routers (and, later, the JSON protocol and tables)."""

from services.dynamodb.router import Router

__all__ = ["Router"]
