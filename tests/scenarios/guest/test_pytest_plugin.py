"""The pytest plugin, as a user's test suite meets it: a pytest of its own in a subprocess, with cascadesim installed
(so the plugin comes in through its entry point) and a scenario file of the user's."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import changed, read_json, scenario_file, shipped

pytestmark = pytest.mark.live

USERS_TESTS = """
import os, socket
import boto3, pytest

SCENARIO = {scenario!r}


@pytest.mark.cascadesim(SCENARIO)
def test_reaches_the_cloud_by_its_names(cascadesim_cloud):
    cloud = cascadesim_cloud
    assert cloud.endpoints["dynamodb"].startswith("http://dynamodb.us-east-1.cloud.test:")
    assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == cloud.endpoints["dynamodb"]
    assert "AWS_ENDPOINT_URL_S3" not in os.environ  # inherited, it would beat AWS_ENDPOINT_URL
    assert os.environ["NO_PROXY"].split(",")[-1] == ".cloud.test"  # HTTP_PROXY below would take the calls away
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="things", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{{"AttributeName": "k", "KeyType": "HASH"}}],
        AttributeDefinitions=[{{"AttributeName": "k", "AttributeType": "S"}}],
    )
    assert dynamodb.list_tables()["TableNames"] == ["things"]
    started = cloud.await_event("run_started", timeout=5)
    assert 0 <= started.t < cloud.clock()
    assert [e.kind for e in cloud.events][:1] == ["run_started"]
    dynamodb.close()


@pytest.mark.cascadesim(SCENARIO)
def test_waiting_for_what_does_not_come_times_out(cascadesim_cloud):
    with pytest.raises(TimeoutError, match="no 'record_emptied' event within 0.5 s"):
        cascadesim_cloud.await_event("record_emptied", timeout=0.5)


@pytest.mark.cascadesim(SCENARIO)
def test_that_fails(cascadesim_cloud):
    boto3.client("dynamodb").list_tables()
    assert False, "on purpose"


def test_afterwards_nothing_is_left_changed():
    assert "AWS_ENDPOINT_URL_DYNAMODB" not in os.environ and "AWS_ACCESS_KEY_ID" not in os.environ
    assert os.environ["AWS_ENDPOINT_URL_S3"] == "http://s3.example.invalid" and "NO_PROXY" not in os.environ
    assert boto3.DEFAULT_SESSION is None or boto3.DEFAULT_SESSION.get_credentials() is None
    assert socket.getaddrinfo.__module__ == "socket" and socket.getaddrinfo.__name__ == "getaddrinfo"
"""


def test_a_users_tests_get_the_cloud_and_leave_their_runs(tmp_path: Path) -> None:
    """Through the plugin, a test reaches the cloud by its names with plain boto3, waits for events and reads the
    clock; a wait for an event that does not come times out; a failing test's output says where its run directory
    is, and every test's run directory has its report; afterwards the environment and name resolution are as
    before."""
    scenario = changed(shipped("dns-race"), faults=(), operator=(), duration=60)
    path = scenario_file(scenario, tmp_path)
    (tmp_path / "test_users.py").write_text(textwrap.dedent(USERS_TESTS).format(scenario=str(path)))
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NO_PROXY", "no_proxy"))}
    env |= {"AWS_ENDPOINT_URL_S3": "http://s3.example.invalid", "HTTP_PROXY": "http://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_users.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "1 failed, 3 passed" in done.stdout, done.stdout + done.stderr
    assert "AssertionError: on purpose" in done.stdout
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 3 and all((run / "report.html").is_file() for run in runs)
    shown = [line for line in done.stdout.splitlines() if line.startswith("run directory: ")]
    assert len(shown) == 1 and Path(shown[0].split()[2]) in runs
    statuses = {run.name.rsplit("-", 1)[-1]: read_json(run / "meta.json")["program"]["status"] for run in runs}
    assert statuses == {
        "test_reaches_the_cloud_by_its_names": 0,
        "test_waiting_for_what_does_not_come_times_out": 0,
        "test_that_fails": 1,
    }
