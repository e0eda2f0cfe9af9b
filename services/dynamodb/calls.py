"""Calling DynamoDB through a client: one operation, or one that must eventually take effect."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

from services.client.exchange import Perform, Request, Result, Sleep
from services.client.service_client import ServiceClient
from services.net.http import HttpResponse

JSON = {"content-type": "application/x-amz-json-1.0"}
TARGET = "DynamoDB_20120810"


def operation(service: str, port: int, name: str, body: dict[str, Any]) -> Request:
    """A DynamoDB_20120810 operation as a request to the endpoint `service`."""
    headers = {**JSON, "x-amz-target": f"{TARGET}.{name}"}
    return Request(service, port, "POST", "/", headers, json.dumps(body).encode())


async def call(client: ServiceClient, name: str, body: dict[str, Any], deadline: float | None = None) -> HttpResponse:
    """One DynamoDB_20120810 operation; raises CallFailed when no response came."""
    request = operation(client.name, client.port, name, body)
    return await client.request(
        request.method, request.path, headers=dict(request.headers), content=request.body, deadline=deadline
    )


def until_done_steps(request: Request, *, attempts: int | None = None) -> Generator[Perform | Sleep, Any, bool]:
    """Repeat, a second apart, until the operation succeeds (a table that already exists counts); False if
    `attempts` ran out first. For set-up writes that must happen whatever DynamoDB is going through; any client
    engine drives it (services/client/exchange.py)."""
    tried = 0
    while attempts is None or tried < attempts:
        tried += 1
        result: Result = yield Perform(request)
        reply = result.reply
        if reply is not None and (reply.status == 200 or b"ResourceInUseException" in reply.body):
            return True
        yield Sleep(1.0)
    return False


async def until_done(client: ServiceClient, name: str, body: dict[str, Any], *, attempts: int | None = None) -> bool:
    """`until_done_steps` through an internal client."""
    return await client.drive(until_done_steps(operation(client.name, client.port, name, body), attempts=attempts))
