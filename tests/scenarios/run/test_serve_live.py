"""`cascadesim serve` for real: the race seen over UDP by a DNS client, and a clean stop on SIGINT."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from scenarios.config.schema import Scenario
from services.event_kinds import EventKind
from tests.helpers import CLI, assert_port_free, event_records, eventually, on_free_ports, reap, scenario_file

NAME = "dynamodb.us-east-1.cloud.test"

pytestmark = pytest.mark.live


@dataclass
class Served:
    variant: str
    process: subprocess.Popen[str]
    authority: int
    resolver: int
    router_port: int
    out: Path

    def ask(self, port: int) -> dns.message.Message:
        return dns.query.udp(dns.message.make_query(NAME, "A"), "127.0.0.1", timeout=1.0, port=port)

    def addresses(self, port: int) -> list[str]:
        reply = self.ask(port)
        assert reply.rcode() == dns.rcode.NOERROR
        return [rd.address for rrset in reply.answer for rd in rrset]

    def events(self) -> list[dict[str, Any]]:
        return event_records(self.out)


def serve(scenario: Scenario, directory: Path, seconds: int) -> Served:
    """`cascadesim serve` of `scenario` for `seconds`, its output piped, its run directory DIRECTORY/run."""
    out = directory / "run"
    process = subprocess.Popen(
        [str(CLI), "serve", str(scenario_file(scenario, directory)), "--duration", str(seconds), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ports = scenario.dns.authority_port, scenario.dns.resolver_port, scenario.dynamodb.port
    return Served(scenario.enactors.variant, process, *ports, out)


def race(variant: str) -> Scenario:
    """Planner churn from 1 s and a slow Enactor A from 2 s, on ports that nothing uses."""
    faults = [
        {"kind": "planner_churn", "at": 1, "duration": 60, "plan_interval": 0.2},
        {"kind": "enactor_delay", "enactor": "A", "at": 2, "duration": 60, "delay": 6.0},
    ]
    race = {"name": f"live-{variant}", "seed": 7, "duration": 120, "enactors": {"variant": variant}, "faults": faults}
    return on_free_ports(Scenario.model_validate(race))


@pytest.fixture(params=["aws-2025", "fixed"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    served = serve(race(request.param), tmp_path, 60)
    try:
        deadline = time.monotonic() + 20
        while not any(e["kind"] == EventKind.PLAN_APPLIED for e in served.events()):
            assert served.process.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)
        yield served
    finally:
        reap(served.process)


def blocked_after_emptying(events: list[dict[str, Any]]) -> bool:
    """Some apply to the regional endpoint was blocked after the regional record was emptied."""
    emptied = [e["t"] for e in events if e["kind"] == EventKind.RECORD_EMPTIED and e["name"] == NAME]
    return bool(emptied) and any(
        e["kind"] == EventKind.APPLY_BLOCKED and e["endpoint"] == NAME and e["t"] >= emptied[0] for e in events
    )


def stop_with_sigint(served: Served) -> None:
    """SIGINT: the command returns within 5 s, keeps its events, and frees every port it bound."""
    started = time.monotonic()
    served.process.send_signal(signal.SIGINT)
    output, _ = served.process.communicate(timeout=5)
    assert time.monotonic() - started < 5
    assert served.process.returncode == 130, output
    assert "Traceback" not in output
    assert served.events()[-1]["kind"] == EventKind.RUN_INTERRUPTED
    bound = [(("127.0.0.1", served.authority), socket.SOCK_DGRAM), (("127.0.0.1", served.resolver), socket.SOCK_DGRAM)]
    bound += [((f"127.0.1.{i}", served.router_port), socket.SOCK_STREAM) for i in (1, 2, 3)]
    for address, kind in bound:
        assert_port_free(address, kind)


def test_the_race_is_visible_to_a_dns_client_and_sigint_cleans_up(served: Served) -> None:
    """aws-2025: routers resolve first; after the race the resolver and the authority say NODATA; fixed: never."""
    assert sorted(served.addresses(served.resolver)) == ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
    empty_seen = 0
    deadline = time.monotonic() + (25 if served.variant == "fixed" else 45)
    while time.monotonic() < deadline and empty_seen == 0:
        if not served.addresses(served.resolver):
            empty_seen += 1
        time.sleep(0.25)
    if served.variant == "fixed":
        assert empty_seen == 0
        assert any(e["kind"] == EventKind.APPLY_SKIPPED for e in served.events())
    else:
        assert empty_seen, "the resolver never answered NODATA"
        direct = served.ask(served.authority)
        assert direct.rcode() == dns.rcode.NOERROR and not direct.answer
        assert direct.authority[0].rdtype == dns.rdatatype.SOA
        assert eventually(lambda: blocked_after_emptying(served.events()), 10), "later applies are blocked"
        stale = [
            e
            for e in served.events()
            if e["kind"] == EventKind.PLAN_APPLIED and e["enactor"] == "A" and e["newest"] - e["generation"] > 10
        ]
        assert stale, "Enactor A landed a stale plan"
    stop_with_sigint(served)


def test_a_stopped_router_leaves_the_plan_within_two_intervals(tmp_path: Path) -> None:
    """kill_node on a router: the next plans omit it (≤ 2 plan intervals) and the authority answers without it."""
    outage = {
        "name": "outage",
        "planner": {"plan_interval": 1.0},
        "enactors": {"variant": "fixed"},
        "faults": [{"kind": "kill_node", "node": "router-2", "at": 3, "duration": 6}],
    }
    served = serve(on_free_ports(Scenario.model_validate(outage)), tmp_path, 14)
    authority, process = served.authority, served.process
    try:
        assert eventually(lambda: any(e["kind"] == EventKind.PLAN_APPLIED for e in served.events()), 20)
        assert len(served.addresses(authority)) == 3
        assert eventually(lambda: sorted(served.addresses(authority)) == ["127.0.1.1", "127.0.1.3"], 10)
        events = served.events()
        stopped = next(e["t"] for e in events if e["kind"] == EventKind.NODE_KILLED and e["source"] == "router-2")
        first_without = next(
            e["t"]
            for e in events
            if e["kind"] == EventKind.PLAN_PUBLISHED and e["t"] > stopped and "router-2" not in e["routers"]
        )
        assert first_without - stopped <= 2 * 1.0
        assert eventually(lambda: len(served.addresses(authority)) == 3, 15), "router-2 is back after the outage"
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
    finally:
        reap(process)
