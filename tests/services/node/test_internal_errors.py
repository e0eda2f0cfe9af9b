"""A bug inside an EC2 or Lambda request is answered as the real service answers it (a 500 in its own error shape)
and reported as an internal_error event, as the DynamoDB routers' are."""

from __future__ import annotations

import random

import anyio

from services.ec2.api import Ec2Api
from services.ec2.dwfm import DropletWorkflowManager, DwfmSettings
from services.ec2.fleet import Fleet
from services.ec2.netmgr import NetworkManager
from services.event_kinds import EventKind
from services.events import EventLog
from services.lambda_.function import LambdaService, LambdaSettings
from services.node.capacity import CapacitySpec
from tests.helpers import of_kind
from tests.services.replies import INVOKE, FakeDynamoDb, post


class BrokenFleet(Fleet):
    """A fleet whose instances cannot be listed: a bug of ours."""

    @property  # type: ignore[override]
    def instances(self) -> dict[str, object]:
        raise RuntimeError("the fleet is broken on purpose")

    @instances.setter
    def instances(self, value: object) -> None:
        pass


async def test_a_bug_in_the_ec2_api_is_a_500_internal_error_and_an_event() -> None:
    """EC2's shape: 500 with {"Error": {"Code": "InternalError"}}; the event names the node and the exception."""
    events = EventLog(anyio.current_time)
    rng = random.Random(1)
    dwfm = DropletWorkflowManager(DwfmSettings(droplets=1), None, events, rng)  # type: ignore[arg-type]
    api = Ec2Api("ec2-1", dwfm, BrokenFleet(), CapacitySpec(), rng, NetworkManager(events, rng), events)
    response = await post(api.routes.asgi, "/", {"Action": "DescribeInstances"})
    assert response.status_code == 500 and response.json()["Error"]["Code"] == "InternalError"
    [event] = of_kind(events, EventKind.INTERNAL_ERROR)
    assert event.source == "ec2-1" and event.data["error"] == "RuntimeError" and api.internal_errors.count == 1


async def test_a_bug_in_lambda_is_a_500_service_exception_and_an_event() -> None:
    """Lambda's shape: 500 with x-amzn-ErrorType ServiceException (not a 400 "could not parse" for the caller)."""
    events = EventLog(anyio.current_time)
    broken = {"name": {"S": "orders-handler"}, "duration": {"N": "not a number"}}  # a config it cannot read
    service = LambdaService(LambdaSettings(), FakeDynamoDb(broken), FakeDynamoDb(None), random.Random(1), events)  # type: ignore[arg-type]
    response = await post(service.routes.asgi, INVOKE, {"order": 1})
    assert response.status_code == 500 and response.headers["x-amzn-ErrorType"] == "ServiceException"
    [event] = of_kind(events, EventKind.INTERNAL_ERROR)
    assert event.source == "lambda" and event.data["error"] == "ValueError"
