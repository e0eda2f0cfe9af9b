"""Unmodified boto3 against `cascadesim serve` of cascade-live, by `endpoint_url`: EC2's and STS's own protocols
before the outage and during it, with the error classes and codes boto3 raises against the real services."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from scenarios.config.schema import Scenario
from services.event_kinds import EventKind
from services.net.addresses import EC2_HOST, declared_host
from tests.helpers import CLI, changed, event_records, on_free_ports, reap, scenario_file, shipped

pytestmark = pytest.mark.live

ROLE = "arn:aws:iam::123456789012:role/orders-app"
LATER = 15  # the race comes this much later than in the shipped file, to leave the "before" calls time


def scenario() -> Scenario:
    """cascade-live without load (the SDK's calls are the only outside ones), its race 15 s later."""
    shipped_file = shipped("cascade-live")
    faults = tuple(changed(f, at=f.at + LATER) for f in shipped_file.faults)
    operator = tuple(changed(a, at=a.at + LATER) for a in shipped_file.operator if a.at is not None)
    return on_free_ports(changed(shipped_file, faults=faults, operator=operator, load=None))


class Served:
    def __init__(self, scenario: Scenario, directory: Path) -> None:
        self.out = directory / "run"
        self.process = subprocess.Popen(
            [str(CLI), "serve", str(scenario_file(scenario, directory)), "--duration", "120", "--out", str(self.out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert scenario.ec2 is not None
        config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=5)
        keys: dict[str, Any] = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
        self.ec2 = boto3.client("ec2", endpoint_url=f"http://{EC2_HOST}:{scenario.ec2.port}", config=config, **keys)
        self.sts = boto3.client(
            "sts", endpoint_url=f"http://{declared_host(1)}:{scenario.services[0].port}", config=config, **keys
        )

    def await_event(self, kind: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "serve stopped early"
            found = [e["t"] for e in event_records(self.out) if e["kind"] == kind] if self.out.exists() else []
            if found:
                return float(found[0])
            time.sleep(0.2)
        raise AssertionError(f"no {kind} within {timeout} s")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    served = Served(scenario(), tmp_path)
    try:
        yield served
    finally:
        reap(served.process)


def code_of(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return type(raised.value).__name__, raised.value.response["Error"]["Code"]


def test_boto3_ec2_and_sts_before_and_during_the_outage(served: Served) -> None:
    served.await_event(EventKind.DWFM_READY, 40)
    ec2, sts = served.ec2, served.sts

    launched = ec2.run_instances(ImageId="ami-0abc1234", MinCount=3, MaxCount=7, InstanceType="t3.micro")
    ids = [i["InstanceId"] for i in launched["Instances"]]
    assert len(ids) == 7 and all(i["InstanceType"] == "t3.micro" for i in launched["Instances"])
    pages = list(ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5}))
    listed = [i["InstanceId"] for page in pages for r in page["Reservations"] for i in r["Instances"]]
    assert len(pages) >= 2 and set(ids) <= set(listed)
    gone = ec2.terminate_instances(InstanceIds=ids[:2])["TerminatingInstances"]
    assert [c["CurrentState"]["Name"] for c in gone] == ["terminated", "terminated"]
    assert code_of(ec2.describe_instances, InstanceIds=ids[:1]) == ("ClientError", "InvalidInstanceID.NotFound")
    assert sts.get_caller_identity()["Account"] == "000000000000"
    creds = sts.assume_role(RoleArn=ROLE, RoleSessionName="before")["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert events_before(served, EventKind.RECORD_EMPTIED)

    # DNS empty: STS's credentials store (DynamoDB) is out of reach once the name's cached answer (its TTL) and
    # STS's own 5-s cache of the credentials run out.
    served.await_event(EventKind.RECORD_EMPTIED, 60)
    assert first_failure(lambda: sts.assume_role(RoleArn=ROLE, RoleSessionName="during"), 40) == (
        "ClientError",
        "ServiceUnavailable",
    )
    assert code_of(sts.get_caller_identity) == ("ClientError", "ServiceUnavailable")
    # DWFM's leases run out (30 s after their last renewal): soon no droplet can take a launch.
    served.await_event(EventKind.LEASES_EXPIRING, 60)
    assert first_failure(lambda: ec2.run_instances(ImageId="ami-0abc1234", MinCount=1, MaxCount=1), 40) == (
        "ClientError",
        "InsufficientInstanceCapacity",
    )
    # What needs no lease goes on, as running instances did in AWS's account.
    assert ids[2] in [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]


def first_failure(call: Callable[[], Any], timeout: float) -> tuple[str, str]:
    """The first ClientError `call` raises, tried every half second for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            call()
        except ClientError as exc:
            return type(exc).__name__, exc.response["Error"]["Code"]
        time.sleep(0.5)
    raise AssertionError(f"no error within {timeout} s")


def events_before(served: Served, kind: str) -> bool:
    """Nothing of `kind` has happened yet: the calls above were made before the outage."""
    return not any(e["kind"] == kind for e in event_records(served.out))
