"""A live DynamoDB router on loopback, served from a trio thread so that blocking boto3 can call it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from services.dynamodb import Router
from services.node.capacity import CapacitySpec
from tests.helpers import serve_routes


@dataclass
class LiveRouter:
    router: Router
    url: str


def serve_in_thread(router: Router, host: str) -> Iterator[LiveRouter]:
    with serve_routes(router.routes, host) as url:
        yield LiveRouter(router, url)


@pytest.fixture
def live_router() -> Iterator[LiveRouter]:
    yield from serve_in_thread(Router("router-test", spec=CapacitySpec(workers=64, queue_limit=1024)), "127.0.9.21")
