"""Calling DynamoDB through the internal client: one operation, or one that must eventually take effect."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx

from services.client import ServiceClient
from services.errors import CallFailed

JSON = {"content-type": "application/x-amz-json-1.0"}


async def call(
    client: ServiceClient, operation: str, body: dict[str, Any], deadline: float | None = None
) -> httpx.Response:
    """One DynamoDB_20120810 operation; raises CallFailed when no response came."""
    headers = {**JSON, "x-amz-target": f"DynamoDB_20120810.{operation}"}
    return await client.request("POST", "/", headers=headers, content=json.dumps(body).encode(), deadline=deadline)


async def until_done(
    client: ServiceClient, operation: str, body: dict[str, Any], *, attempts: int | None = None
) -> bool:
    """Repeat, a second apart, until the operation succeeds (a table that already exists counts); False if
    `attempts` ran out first. Used for set-up writes that must happen whatever DynamoDB is going through."""
    tried = 0
    while attempts is None or tried < attempts:
        tried += 1
        try:
            response = await call(client, operation, body)
        except CallFailed:
            response = None
        if response is not None and (response.status_code == 200 or "ResourceInUseException" in response.text):
            return True
        await anyio.sleep(1.0)
    return False
