"""`cascadesim serve --users N` drives the cloud with real Locust processes, and stops them on SIGINT."""

from __future__ import annotations

import csv
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ports import free_port

CLI = Path(sys.executable).with_name("cascadesim")
pytestmark = [pytest.mark.live, pytest.mark.slow]


def locust_processes() -> list[str]:
    found = subprocess.run(["pgrep", "-af", "loadgen/locustfile.py"], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if "pgrep" not in line]


def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "race.toml"
    text = Path("scenarios/dns-race.toml").read_text()
    text = text.replace("authority_port = 5300", f"authority_port = {free_port('127.0.0.1', socket.SOCK_DGRAM)}")
    text = text.replace("resolver_port = 5301", f"resolver_port = {free_port('127.0.0.1', socket.SOCK_DGRAM)}")
    text = text.replace("[dynamodb]\n", f"[dynamodb]\nport = {free_port('127.0.1.1', socket.SOCK_STREAM)}\n")
    path.write_text(text)
    return path


def test_locust_reports_dns_failures_during_the_race_and_sigint_stops_it(tmp_path: Path) -> None:
    """Locust's CSV (with history) and HTML appear with our per-second outcomes, DNS failures named as such;
    SIGINT mid-run stops serve and every Locust process within 10 s."""
    out = tmp_path / "run"
    serve = subprocess.Popen(
        [str(CLI), "serve", str(scenario(tmp_path)), "--users", "10", "--duration", "60", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 40
        events = out / "events.jsonl"
        while time.monotonic() < deadline and not (events.exists() and "apply_blocked" in events.read_text()):
            time.sleep(0.5)
        time.sleep(8)  # some seconds of DNS failures
        assert locust_processes()
        started = time.monotonic()
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=10)
        assert time.monotonic() - started < 10
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
    assert not locust_processes()
    locust = out / "locust"
    for name in ("stats_stats.csv", "stats_stats_history.csv", "stats_failures.csv", "report.html"):
        assert (locust / name).is_file(), name
    rows = [row for f in locust.glob("outcomes-*.csv") for row in csv.DictReader(f.read_text().splitlines())]
    assert sum(int(r["ok"]) for r in rows) > 0 and sum(int(r["dns"]) for r in rows) > 0
    failures = (locust / "stats_failures.csv").read_text()
    assert "dns" in failures
