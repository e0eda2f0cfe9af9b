"""The EC2-like API's DescribeInstances: the answer is the whole listing as JSON, whatever it keeps encoded."""

from __future__ import annotations

import json
import random
from typing import Any

from services import runtime
from services.ec2.api import Ec2Api
from services.ec2.dwfm import DropletWorkflowManager, DwfmSettings
from services.ec2.fleet import Fleet, Instance
from services.ec2.netmgr import NetworkManager
from services.events import EventLog
from services.net.http import HttpRequest, json_response
from services.node.capacity import CapacitySpec, ServiceTime


async def describe(api: Ec2Api, **extra: Any) -> bytes:
    body = json.dumps({"Action": "DescribeInstances", **extra}).encode()
    reply = await api.routes.handle(HttpRequest("POST", "/", {"content-type": "application/json"}, body))
    assert reply.status_code == 200
    return reply.content


def listing(*instances: tuple[str, str, int]) -> bytes:
    described = [
        {"InstanceId": i, "State": {"Name": state}, "Placement": {"HostId": f"d-{droplet:05d}"}}
        for i, state, droplet in instances
    ]
    return json_response({"Reservations": [{"Instances": described}]}).content


async def test_describe_instances_answers_the_listing_as_json_and_follows_each_state_change() -> None:
    """The bytes equal the whole listing encoded at once, before and after an instance's network state arrives,
    with InstanceIds, and after a TerminateInstances."""
    events = EventLog(runtime.current_time)
    rng = random.Random(1)
    dwfm = DropletWorkflowManager(DwfmSettings(droplets=2), None, events, rng)  # type: ignore[arg-type]
    netmgr = NetworkManager(events, rng)
    fleet = Fleet()
    api = Ec2Api("ec2-1", dwfm, fleet, CapacitySpec(service_time=ServiceTime("constant", 0.0)), rng, netmgr)
    for name, droplet in (("i-a", 0), ("i-b", 1), ("i-é", 1)):
        fleet.instances[name] = Instance(name, droplet, 0.0)
    netmgr.pending.add("i-b")  # launched, its network state not propagated yet

    assert await describe(api) == listing(("i-a", "running", 0), ("i-b", "pending", 1), ("i-é", "running", 1))
    netmgr.pending.discard("i-b")
    assert await describe(api) == listing(("i-a", "running", 0), ("i-b", "running", 1), ("i-é", "running", 1))
    assert await describe(api, InstanceIds=["i-é", "i-x"]) == listing(("i-é", "running", 1))
    fleet.used[1] = 2
    await api.routes.handle(
        HttpRequest("POST", "/", {}, json.dumps({"Action": "TerminateInstances", "InstanceIds": ["i-b"]}).encode())
    )
    assert await describe(api) == listing(("i-a", "running", 0), ("i-é", "running", 1))
