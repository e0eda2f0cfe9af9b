"""EC2's query protocol on the EC2-like API, held to botocore's own serializer and parser: the bodies below are
what boto3's `ec2` client sends, and its parser reads every answer (tests/scenarios/test_sdk_live.py does the same
with boto3 over HTTP, through a whole cloud)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any
from urllib.parse import quote, urlencode

import botocore.session
import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from services import runtime
from services.ec2.api import Ec2Api
from services.ec2.dwfm import DropletWorkflowManager, DwfmSettings
from services.ec2.fleet import Fleet
from services.ec2.netmgr import NetworkManager
from services.events import EventLog
from services.net.http import HttpRequest
from services.net.protocol import error_code
from services.node.capacity import CapacitySpec, ServiceTime

MODEL = botocore.session.get_session().get_service_model("ec2")
FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}


def make_api(droplets: int = 4) -> Ec2Api:
    events = EventLog(runtime.current_time)
    rng = random.Random(7)
    dwfm = DropletWorkflowManager(DwfmSettings(droplets=droplets), None, events, rng)  # type: ignore[arg-type]
    spec = CapacitySpec(workers=4, queue_limit=64, service_time=ServiceTime("constant", 0.0))
    return Ec2Api("ec2-api", dwfm, Fleet(), spec, rng, NetworkManager(events, rng), events)


def lease_all(api: Ec2Api, until: float = 1e9) -> None:
    api.dwfm.leases.update({d: until for d in range(api.dwfm.settings.droplets)})


async def call(api: Ec2Api, operation: str, **params: Any) -> dict[str, Any]:
    """The operation as boto3 sends it, and its answer as boto3 reads it (an error as ClientError's response)."""
    op = MODEL.operation_model(operation)
    request = create_serializer("ec2").serialize_to_request(params, op)
    assert request["method"] == "POST" and request["url_path"] == "/"
    body = urlencode(request["body"]).encode()
    return await raw(api, body, op.output_shape)


async def raw(api: Ec2Api, body: bytes, shape: Any = None) -> dict[str, Any]:
    reply = await api.routes.handle(HttpRequest("POST", "/", FORM, body))
    assert reply.headers["content-type"].startswith("text/xml")
    parsed: dict[str, Any] = create_parser("ec2").parse(
        {"status_code": reply.status_code, "headers": dict(reply.headers), "body": reply.content}, shape
    )
    parsed["status"] = reply.status_code
    parsed["code"] = error_code(reply.status_code, reply.headers, reply.content)
    return parsed


def ids(answer: dict[str, Any]) -> list[str]:
    return [i["InstanceId"] for r in answer["Reservations"] for i in r["Instances"]]


async def test_launch_describe_page_filter_and_terminate_as_boto3_reads_them() -> None:
    api = make_api()
    lease_all(api)
    ran = await call(api, "RunInstances", ImageId="ami-0abc1234", MinCount=2, MaxCount=3, InstanceType="t3.micro")
    launched = [i["InstanceId"] for i in ran["Instances"]]
    assert ran["status"] == 200 and len(launched) == 3 and ran["ReservationId"].startswith("r-")
    assert {i["ImageId"] for i in ran["Instances"]} == {"ami-0abc1234"}
    assert [i["AmiLaunchIndex"] for i in ran["Instances"]] == [0, 1, 2]
    assert {i["InstanceType"] for i in ran["Instances"]} == {"t3.micro"}
    assert {i["State"]["Name"] for i in ran["Instances"]} == {"running"}  # no Network Manager task: propagated
    for _ in range(3):
        await call(api, "RunInstances", ImageId="ami-0abc1234", MinCount=1, MaxCount=3)
    everyone = await call(api, "DescribeInstances")
    assert len(ids(everyone)) == 12 and "NextToken" not in everyone

    pages, token = [], None  # what boto3's paginator does with PageSize=5
    while True:
        page = await call(api, "DescribeInstances", MaxResults=5, **({"NextToken": token} if token else {}))
        pages.append(ids(page))
        token = page.get("NextToken")
        if token is None:
            break
    assert [len(p) for p in pages] == [5, 5, 2]
    assert sorted(i for p in pages for i in p) == sorted(ids(everyone))

    api.netmgr.pending.add(launched[0])  # its network state not propagated yet
    pending = await call(api, "DescribeInstances", Filters=[{"Name": "instance-state-name", "Values": ["pending"]}])
    assert ids(pending) == [launched[0]]
    statuses = await call(api, "DescribeInstanceStatus", InstanceIds=launched)
    assert sorted(s["InstanceId"] for s in statuses["InstanceStatuses"]) == sorted(launched[1:])  # running only
    every = await call(api, "DescribeInstanceStatus", InstanceIds=launched, IncludeAllInstances=True)
    status = {s["InstanceId"]: s["InstanceStatus"]["Status"] for s in every["InstanceStatuses"]}
    assert status == {launched[0]: "initializing", launched[1]: "ok", launched[2]: "ok"}

    gone = await call(api, "TerminateInstances", InstanceIds=launched[:2])
    assert [
        (c["InstanceId"], c["PreviousState"]["Name"], c["CurrentState"]["Code"]) for c in gone["TerminatingInstances"]
    ] == [
        (launched[0], "pending", 48),
        (launched[1], "running", 48),
    ]
    missing = await call(api, "DescribeInstances", InstanceIds=[launched[0]])
    assert (missing["status"], missing["Error"]["Code"]) == (400, "InvalidInstanceID.NotFound")
    assert missing["code"] == "InvalidInstanceID.NotFound"  # as the cloud's own clients read it too
    assert len(ids(await call(api, "DescribeInstances"))) == 10


async def test_launches_fail_as_ec2_answers_them_while_no_lease_is_live() -> None:
    api = make_api()
    failed = await call(api, "RunInstances", ImageId="ami-0abc1234", MinCount=1, MaxCount=1)
    assert (failed["status"], failed["Error"]["Code"]) == (500, "InsufficientInstanceCapacity")
    lease_all(api)
    api.fleet.used.update({d: api.fleet.slots_per_droplet for d in range(3)})  # one droplet with 4 free slots
    partial = await call(api, "RunInstances", ImageId="ami-0abc1234", MinCount=2, MaxCount=9)
    assert len(partial["Instances"]) == 4  # as many as fit, at least MinCount
    full = await call(api, "RunInstances", ImageId="ami-0abc1234", MinCount=1, MaxCount=1)
    assert full["Error"]["Code"] == "InsufficientInstanceCapacity"
    assert api.launch_failures == 2


def malformed(rng: random.Random) -> tuple[bytes, set[str]]:
    """A request EC2 refuses, and the codes it may answer (a 400 each)."""
    good = {"Action": "DescribeInstances", "Version": "2016-11-15"}
    kind = rng.randrange(14)
    junk = "".join(rng.choice("abcXYZ09._-é%&= \x00") for _ in range(rng.randrange(1, 12)))
    if kind == 0:
        return urlencode({"Version": "2016-11-15", "MaxResults": "5"}).encode(), {"MissingAction"}
    if kind == 1:
        return urlencode({"Action": rng.choice(["Nope", "runinstances", junk]), "Version": "2016-11-15"}).encode(), {
            "InvalidAction",
            "MissingAction",
        }
    if kind == 2:
        return urlencode({**good, "Version": rng.choice(["2015-01-01", junk])}).encode(), {"NoSuchVersion"}
    if kind == 3:
        return urlencode({"Action": "DescribeInstances"}).encode(), {"MissingParameter"}
    if kind == 4:
        return urlencode({**good, "MaxResults": rng.choice(["0", "4", "1001", "-3", "five", junk])}).encode(), {
            "InvalidParameterValue"
        }
    if kind == 5:
        return urlencode({**good, "InstanceId.1": rng.choice(["i-1", "bogus", "i-XYZ12345", junk])}).encode(), {
            "InvalidInstanceID.Malformed"
        }
    if kind == 6:
        index = rng.choice(["0", "x", "01", "2", "1001"])
        return urlencode({**good, f"InstanceId.{index}": "i-0123456789abcdef"}).encode(), {"InvalidParameterValue"}
    if kind == 7:
        return urlencode({**good, f"Filter.1.{rng.choice(['Name', 'Value.1'])}x": "a"}).encode(), {
            "InvalidParameterValue"
        }
    if kind == 8:
        return urlencode(
            {**good, "Filter.1.Name": rng.choice(["color", "tag:x", junk]), "Filter.1.Value.1": "a"}
        ).encode(), {"InvalidParameterValue"}
    if kind == 9:
        return urlencode({**good, rng.choice(["Foo", "ImageId", "MinCount", junk or "x"]): "1"}).encode(), {
            "UnknownParameter",
            "InvalidParameterValue",
        }
    if kind == 10:  # bytes that are not UTF-8, raw or percent-encoded
        bad = rng.choice([b"\xff\xfe", b"\xc3(", b"%ff", b"%c3%28"])
        return b"Action=DescribeInstances&Version=2016-11-15&NextToken=" + bad, {"MalformedQueryString"}
    if kind == 11:
        return b"Action=DescribeInstances&Version=2016-11-15&" + quote(junk).encode().replace(b"%3D", b""), {
            "MalformedQueryString",
            "UnknownParameter",
            "InvalidParameterValue",
        }
    if kind == 12:
        return b"Action=DescribeInstances&Version=2016-11-15&MaxResults=5&MaxResults=6", {"InvalidParameterValue"}
    run = {"Action": "RunInstances", "Version": "2016-11-15", "ImageId": "ami-1", "MinCount": "1", "MaxCount": "1"}
    field = rng.choice(["ImageId", "MinCount", "MaxCount"])
    value = rng.choice(["", "0", "101", "x", "1.5"]) if field != "ImageId" else ""
    codes = {"MissingParameter"} if value == "" else {"InvalidParameterValue"}
    return urlencode(
        {**run, field: value} if rng.random() < 0.8 else {**run, "MinCount": "3", "MaxCount": "2"}
    ).encode(), codes | {"InvalidParameterValue"}


async def test_a_thousand_malformed_requests_each_get_ec2s_xml_error_and_the_node_stays_up() -> None:
    api = make_api()
    lease_all(api)
    rng = random.Random(2025)
    seen: Counter[str] = Counter()
    for n in range(1000):
        body, codes = malformed(rng)
        answer = await raw(api, body)
        assert answer["status"] == 400, (n, body, answer)
        assert answer["Error"]["Code"] in codes, (n, body, answer["Error"])
        assert answer["code"] == answer["Error"]["Code"]
        assert answer["ResponseMetadata"]["RequestId"]
        seen[answer["Error"]["Code"]] += 1
    assert len(seen) == 8, seen  # every code the generator aims at
    assert api.internal_errors.count == 0
    assert len((await call(api, "RunInstances", ImageId="ami-1", MinCount=1, MaxCount=1))["Instances"]) == 1


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"InstanceIds": ["i-0123456789abcdef"], "MaxResults": 5}, "InvalidParameterCombination"),
        ({"NextToken": "not-a-token"}, "InvalidParameterValue"),
        ({"DryRun": True}, "DryRunOperation"),
    ],
)
async def test_describe_refuses_what_ec2_refuses(params: dict[str, Any], code: str) -> None:
    answer = await call(make_api(), "DescribeInstances", **params)
    assert (answer["status"], answer["Error"]["Code"]) == (412 if code == "DryRunOperation" else 400, code)
