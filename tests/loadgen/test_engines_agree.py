"""Both load engines read the services' real error replies alike: the outcome class, the error code, and the
retries that follow (botocore's parsers and standard retry mode are the reference)."""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from loadgen.behaviour import classify
from loadgen.plan import LoadPlan, UserKind
from services.client.service_client import ServiceClient
from services.net.http import HttpRequest, HttpResponse, Routes
from services.net.network import LiveNetwork, Network
from services.net.virtual_network import VirtualNetwork
from services.throttling.backoff import ImmediateRetry
from services.throttling.settings import ClientSettings
from tests.helpers import ROOT, free_port
from tests.services.replies import CASES, Captured, capture

SERVICE = "replay.cloud.test"
ATTEMPTS = 3  # immediate retries, three attempts in all: a retryable reply is sent three times


def replay(replies: dict[str, Captured]) -> Routes:
    """A node that answers `POST /case/NAME` with that case's captured reply, byte for byte."""

    async def answer(request: HttpRequest) -> HttpResponse:
        reply = replies[request.path_params["name"]]
        headers = {k: v for k, v in reply.headers if k.lower() not in ("content-length", "date", "server")}
        return HttpResponse(reply.status, headers, reply.body)

    return Routes([("POST", "/case/{name}", answer)])


class HereStub:
    """Every name is on 127.0.0.1 (the replay server): DNS is not what this test is about."""

    def cached(self, name: str) -> list[str]:
        return ["127.0.0.1"]

    async def find(self, name: str) -> list[str]:
        return ["127.0.0.1"]


async def through_service_client(network: Network, port: int) -> dict[str, list[Any]]:
    client = ServiceClient(
        network,
        HereStub(),  # type: ignore[arg-type]  # a stand-in: ServiceClient only calls cached() and find()
        SERVICE,
        port,
        random.Random(1),
        policy=ImmediateRetry(max_attempts=ATTEMPTS),
    )
    ended = {}
    for case in CASES:
        result = await client.call("POST", f"/case/{case.name}", content=b"{}", deadline=trio.current_time() + 5)
        ended[case.name] = [classify(result.outcome), result.outcome.error_code, result.attempts]
    await client.aclose()
    return ended


async def through_locust(port: int, directory: Path) -> dict[str, list[Any]]:
    plan = LoadPlan(
        seed=1,
        resolver=("127.0.0.1", 9),
        duration=10.0,
        kinds={"dynamodb": UserKind(port)},
        mix={"dynamodb": 1},
        client=ClientSettings(retry="immediate", max_attempts=ATTEMPTS),
    )
    (directory / "plan.json").write_text(plan.to_json())
    env = {**os.environ, "CASCADESIM_LOAD_PLAN": str(directory / "plan.json"), "CASCADESIM_RUN_DIR": str(directory)}
    command = [sys.executable, "-m", "tests.loadgen.locust_probe", str(port), *(c.name for c in CASES)]
    with trio.fail_after(60):
        done = await trio.run_process(command, env=env, cwd=ROOT, capture_stdout=True, capture_stderr=True)
    ended: dict[str, list[Any]] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return ended


@pytest.mark.live
async def test_both_engines_classify_and_retry_every_real_reply_alike(tmp_path: Path) -> None:
    """DynamoDB's ThrottlingException, Lambda's 429 TooManyRequestsException and EC2's RequestLimitExceeded are
    throttles, retried; a 500 from each is a retried server error; a 4xx from each is a client error, not retried;
    the virtual engine (ServiceClient in-process), the services' live client and Locust's users agree on each."""
    replies = await capture()
    app = replay(replies)
    port = free_port("127.0.0.1")
    async with trio.open_nursery() as nursery:
        await nursery.start(LiveNetwork().serve_http, app, ("127.0.0.1", port))
        live = await through_service_client(LiveNetwork(), port)
        locust = await through_locust(port, tmp_path)
        virtual_network = VirtualNetwork()
        await nursery.start(virtual_network.serve_http, app, ("127.0.0.1", port))
        virtual = await through_service_client(virtual_network, port)
        nursery.cancel_scope.cancel()
    expected = {c.name: [c.expected, ATTEMPTS if c.retryable else 1] for c in CASES}
    for engine, ended in (("virtual", virtual), ("live client", live), ("locust", locust)):
        assert {name: [how, attempts] for name, (how, _, attempts) in ended.items()} == expected, engine
    assert virtual == live == locust
