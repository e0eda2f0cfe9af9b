"""A live DynamoDB router on loopback, served from a trio thread so that blocking boto3 can call it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import trio

from services.dynamodb import Router
from services.net.network import LiveNetwork
from services.node.capacity import CapacitySpec
from tests.helpers import free_port


@dataclass
class LiveRouter:
    router: Router
    url: str


def serve_in_thread(router: Router, host: str) -> Iterator[LiveRouter]:
    port = free_port(host)
    ready = threading.Event()
    holder: dict[str, object] = {}

    async def main() -> None:
        stop = trio.Event()
        holder["stop"], holder["token"] = stop, trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            await nursery.start(LiveNetwork().serve_http, router.routes, (host, port))
            ready.set()
            await stop.wait()
            nursery.cancel_scope.cancel()

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    if not ready.wait(20):
        raise RuntimeError("the router did not start")
    try:
        yield LiveRouter(router, f"http://{host}:{port}")
    finally:
        trio.from_thread.run_sync(holder["stop"].set, trio_token=holder["token"])  # type: ignore[attr-defined,arg-type]
        thread.join(20)


@pytest.fixture
def live_router() -> Iterator[LiveRouter]:
    yield from serve_in_thread(Router("router-test", spec=CapacitySpec(workers=64, queue_limit=1024)), "127.0.9.21")
