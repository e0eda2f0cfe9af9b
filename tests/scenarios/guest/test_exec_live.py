"""`cascadesim exec`: a user's program against a scenario's live cloud, on ports the kernel picked.

The programs are small Python scripts written here; the boto3 one is ordinary boto3 code that takes its endpoint
from the environment, as any program would.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.helpers import (
    CLI,
    assert_scenario_ports_free,
    changed,
    on_free_ports,
    read_json,
    reap,
    scenario_file,
    shipped,
)

pytestmark = pytest.mark.live

BOTO3_PROGRAM = """
import sys, boto3
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
dynamodb = boto3.client("dynamodb")
dynamodb.create_table(
    TableName="things", BillingMode="PAY_PER_REQUEST",
    KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
)
dynamodb.put_item(TableName="things", Item={"k": {"S": "a"}, "v": {"S": "hello"}})
print(dynamodb.get_item(TableName="things", Key={"k": {"S": "a"}})["Item"]["v"]["S"])
try:  # a service the cloud does not model: its name does not resolve (one attempt: legacy retries back off long)
    boto3.client("s3", config=Config(retries={"max_attempts": 1})).list_buckets()
except EndpointConnectionError as exc:
    print("s3:", type(exc).__name__)
sys.exit(3)
"""


def _exec(tmp_path: Path, program: list[str], **changes: object) -> tuple[subprocess.CompletedProcess[str], Path]:
    scenario = changed(on_free_ports(shipped("dns-race")), **changes)
    out = tmp_path / "runs"
    done = subprocess.run(
        [str(CLI), "exec", str(scenario_file(scenario, tmp_path)), "--out", str(out), "--", *program],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, out


def test_assume_role_without_an_sts_is_one_line_and_starts_nothing(tmp_path: Path) -> None:
    """--assume-role on a scenario with no service that speaks STS: one line naming the file, exit 2, no run."""
    scenario = scenario_file(on_free_ports(shipped("dns-race")), tmp_path)
    out = tmp_path / "runs"
    done = subprocess.run(
        [str(CLI), "exec", str(scenario), "--assume-role", "--out", str(out), "--", sys.executable, "-c", "pass"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {scenario}: --assume-role needs a service that speaks STS")
    assert not out.exists()


def test_an_unknown_command_is_one_line_and_starts_nothing(tmp_path: Path) -> None:
    """A command that does not exist: one line on stderr, exit 127 (a shell's "command not found"), no run."""
    done, out = _exec(tmp_path, ["no-such-command-here", "--flag"])
    assert done.returncode == 127
    assert done.stderr.strip().splitlines() == [
        "error: no such command: 'no-such-command-here' (not an executable file, nor found on PATH)"
    ]
    assert not out.exists()


def test_a_program_that_exits_at_once_says_so_and_keeps_its_status(tmp_path: Path) -> None:
    """A program that exits with 5 right away: exit 5, one line saying it met nothing of the outage, and a run
    directory with its report and the status in meta.json."""
    done, out = _exec(tmp_path, [sys.executable, "-c", "raise SystemExit(5)"])
    assert done.returncode == 5, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "exited with status 5" in last and "met nothing of the outage" in last
    (run,) = out.iterdir()
    assert (run / "report.html").is_file()
    assert read_json(run / "meta.json")["program"]["status"] == 5


def test_an_unmodified_boto3_program_reaches_the_cloud_by_its_names(tmp_path: Path) -> None:
    """boto3 with nothing but the environment: its calls reach the cloud's DynamoDB by name, a service the cloud
    does not model fails on loopback (EndpointConnectionError), the exit status is the program's, and the run
    counts its calls apart, drawn in the report as its own chart."""
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(BOTO3_PROGRAM))
    done, out = _exec(tmp_path, [sys.executable, str(script)], duration=30)
    assert done.returncode == 3, done.stderr
    assert done.stdout.split("\n")[:2] == ["hello", "s3: EndpointConnectionError"]
    (run,) = out.iterdir()
    rows = list(csv.DictReader((run / "timeseries.csv").read_text().splitlines()))
    assert sum(int(r["app_dynamodb_ok"]) for r in rows) == 3  # CreateTable, PutItem, GetItem
    assert sum(int(r["app_lookups_answered"]) for r in rows) == 3
    assert sum(int(r["app_lookups_no_such_name"]) for r in rows) >= 1  # s3's name, kept for its negative TTL
    assert 'id="chart-program"' in (run / "report.html").read_text()
    kpis = read_json(run / "kpis.json")["kpis"]
    assert kpis["program_attempts"] >= 4 and kpis["program_failed_attempts"] >= 1


SLEEPER = "import subprocess, time; subprocess.Popen(['sleep', '120']); time.sleep(120)"
GETITEM = Path(__file__).resolve().parents[3] / "examples" / "getitem_every_second.py"
COUNT = int(os.environ.get("CASCADESIM_INTERRUPTS", "1"))
MOMENTS = random.Random(20251129).sample(range(5, 80) if COUNT == 1 else range(5, 560), COUNT)


@pytest.mark.parametrize("moment", MOMENTS, ids=lambda m: f"{m / 10}s")
def test_ctrl_c_stops_the_program_and_the_cloud_and_keeps_the_run(tmp_path: Path, moment: int) -> None:
    """Ctrl-C (SIGINT to cascadesim's process group, as a terminal sends it) `moment`/10 s after `cascadesim exec`
    starts, with a program that started a child of its own (or, for the moments past 8 s, the GetItem example):
    no process of the program's is left, every port is free, and the run directory (if it was made) has its report
    and says it was interrupted. `CASCADESIM_INTERRUPTS=10` runs ten moments over the whole scenario."""
    scenario = on_free_ports(shipped("dns-race"))
    out = tmp_path / "runs"
    marker = f"CASCADESIM_APP_DIR={out}"
    program = [sys.executable, "-c", SLEEPER] if moment < 80 else [sys.executable, str(GETITEM), "--seconds", "58"]
    command = [str(CLI), "exec", str(scenario_file(scenario, tmp_path)), "--out", str(out), "--", *program]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        time.sleep(moment / 10)
        os.killpg(run.pid, signal.SIGINT)
        run.wait(timeout=20)
    finally:
        reap(run)
    assert run.returncode != 0
    assert not _processes_with(marker)
    assert_scenario_ports_free(scenario)
    for directory in out.iterdir() if out.exists() else []:
        assert (directory / "report.html").is_file()
        assert read_json(directory / "meta.json")["interrupted"] is True


def _processes_with(marker: str) -> list[int]:
    """The processes whose environment holds `marker` (the program and what it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_getitem_every_second_through_the_race(tmp_path: Path) -> None:
    """examples/getitem_every_second.py through dns-race: ok before the race, EndpointConnectionError while the
    record is empty, ok again after restore_dns; exit 0 (its last call succeeded)."""
    example = Path(__file__).resolve().parents[3] / "examples" / "getitem_every_second.py"
    done, _ = _exec(tmp_path, [sys.executable, str(example), "--seconds", "55"])
    assert done.returncode == 0, done.stderr
    outcomes = [
        line.split("GetItem")[1].split(":")[0].strip() for line in done.stdout.splitlines() if "GetItem" in line
    ]
    changes = [o for i, o in enumerate(outcomes) if i == 0 or outcomes[i - 1] != o]
    assert changes == ["ok", "EndpointConnectionError", "ok"]
