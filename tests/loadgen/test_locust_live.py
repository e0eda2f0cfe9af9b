"""`cascadesim serve` drives the live cloud with real Locust processes, and stops every one of them on SIGINT."""

from __future__ import annotations

import csv
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import CLI, locust_processes, on_free_ports, scenario_file, shipped

pytestmark = pytest.mark.live


def serve_until_interrupted(args: list[str], out: Path, seconds_after_emptied: float) -> float:
    """Run serve until the DNS record has been empty a while, then SIGINT it; returns how long it took to stop."""
    serve = subprocess.Popen(
        [str(CLI), "serve", *args, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        events = out / "events.jsonl"
        while time.monotonic() < deadline and not (events.exists() and "record_emptied" in events.read_text()):
            time.sleep(0.5)
        time.sleep(seconds_after_emptied)
        assert locust_processes(out)
        started = time.monotonic()
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=10)
        return time.monotonic() - started
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def outcomes(locust: Path) -> list[dict[str, str]]:
    return [row for f in locust.glob("outcomes-*.csv") for row in csv.DictReader(f.read_text().splitlines())]


def test_distributed_locust_drives_every_user_kind_names_dns_failures_and_stops_on_sigint(tmp_path: Path) -> None:
    """cascade-live with a Locust master and 2 workers: all three user kinds run, Locust's CSV (with history) and
    HTML appear with our per-second outcomes from each worker, DNS failures are named as such, and SIGINT mid-run
    stops serve and every Locust process within 10 s."""
    out = tmp_path / "run"
    args = [
        str(scenario_file(on_free_ports(shipped("cascade-live")), tmp_path)),
        "--locust-workers",
        "2",
        "--duration",
        "90",
    ]
    assert serve_until_interrupted(args, out, seconds_after_emptied=10) < 10
    assert not locust_processes(out)
    locust = out / "locust"
    for name in ("stats_stats.csv", "stats_stats_history.csv", "stats_failures.csv", "report.html"):
        assert (locust / name).is_file(), name
    assert len(list(locust.glob("outcomes-*.csv"))) == 2  # one per worker; the master runs no users
    rows = outcomes(locust)
    assert {row["user"] for row in rows} == {"dynamodb", "ec2", "lambda"}
    totals = Counter[str]()
    for row in rows:
        totals.update({key: int(value) for key, value in row.items() if key not in ("second", "user")})
    assert totals["ok"] > 0 and totals["dns"] > 0
    stats = (locust / "stats_stats.csv").read_text()
    assert all(name in stats for name in ("DynamoDB GetItem", "EC2 DescribeInstances", "Lambda Invoke"))
    assert "dns" in (locust / "stats_failures.csv").read_text()


def test_constant_users_in_one_locust_process(tmp_path: Path) -> None:
    """`--users 10` on a scenario without [load]: Locust still writes its reports and our outcomes, and stops."""
    out = tmp_path / "run"
    args = [str(scenario_file(on_free_ports(shipped("dns-race")), tmp_path)), "--users", "10", "--duration", "60"]
    assert serve_until_interrupted(args, out, seconds_after_emptied=8) < 10
    assert not locust_processes(out)
    locust = out / "locust"
    assert (locust / "report.html").is_file() and (locust / "stats_stats_history.csv").is_file()
    rows = outcomes(locust)
    assert sum(int(r["ok"]) for r in rows) > 0 and sum(int(r["dns"]) for r in rows) > 0
