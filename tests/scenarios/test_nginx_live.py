"""Real nginx as DynamoDB's load balancers (`[dynamodb] load_balancer = "nginx"`, scenarios/dns-race-nginx.toml).

Needs Debian's nginx (`.ci/run` installs it); skipped without it, except in CI, where its absence is a failure.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import boto3
import dns.resolver
import pytest

from scenarios.config.schema import load_scenario
from services.topology.nginx import NginxUnavailable, backend_address, nginx_binary, require_nginx
from tests.helpers import (
    CLI,
    ROOT,
    assert_port_free,
    assert_scenario_ports_free,
    changed,
    event_records,
    eventually,
    on_free_ports,
    reap,
    scenario_file,
)

if nginx_binary() is None:
    if os.environ.get("CI"):
        raise RuntimeError("nginx is missing: .ci/run installs Debian's nginx")
    pytest.skip("Debian's nginx is not installed (apt-get install nginx)", allow_module_level=True)

SCENARIO = ROOT / "scenarios" / "dns-race-nginx.toml"


def _our_nginx(marker: str) -> list[str]:
    """The nginx master processes whose command line holds `marker` (cascadesim's start them in cascadesim-nginx-*)."""
    listed = subprocess.run(["pgrep", "-af", "nginx: master"], capture_output=True, text=True).stdout
    return [line for line in listed.splitlines() if marker in line]


@pytest.mark.live
def test_serve_puts_real_nginx_at_the_router_addresses_and_stops_them(tmp_path: Path) -> None:
    """`cascadesim serve` on dns-race-nginx: DNS answers with the nginx addresses, boto3 works through them, the
    nginx stopped by the scenario's fault (nginx-3 at 3 s) is out of the next plan within two plan intervals, and
    Ctrl-C leaves no nginx process and no bound port."""
    scenario = changed(on_free_ports(load_scenario(SCENARIO)), duration=30, faults=load_scenario(SCENARIO).faults[:1])
    out = tmp_path / "serve"
    serve = subprocess.Popen(
        [str(CLI), "serve", str(scenario_file(scenario, tmp_path)), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    port = scenario.dynamodb.port
    try:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port = ["127.0.0.1"], scenario.dns.resolver_port

        def answered() -> bool:
            try:
                return len(resolver.resolve("dynamodb.us-east-1.cloud.test", "A")) > 0
            except Exception:  # not up yet
                return False

        assert eventually(answered, 15)
        addresses = {a.address for a in resolver.resolve("dynamodb.us-east-1.cloud.test", "A")}
        assert addresses <= {"127.0.1.1", "127.0.1.2", "127.0.1.3"} and addresses
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=f"http://127.0.1.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        dynamodb.create_table(
            TableName="through-nginx",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        )
        dynamodb.put_item(TableName="through-nginx", Item={"k": {"S": "a"}})
        assert dynamodb.get_item(TableName="through-nginx", Key={"k": {"S": "a"}})["Item"] == {"k": {"S": "a"}}
        dynamodb.close()
        assert eventually(lambda: any(r["kind"] == "node_revived" for r in event_records(out)), 15)
        time.sleep(0.5)
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=20)
    finally:
        reap(serve)
    records = event_records(out)
    killed = next(r["t"] for r in records if r["kind"] == "node_killed" and r["source"] == "nginx-3")
    plans = [r for r in records if r["kind"] == "plan_published" and r["t"] > killed]
    first_without = next(r["t"] for r in plans if "2/3" in r["message"])
    assert first_without - killed <= 2 * scenario.planner.plan_interval
    assert serve.returncode == 130
    assert not _our_nginx("cascadesim-nginx-")
    assert_scenario_ports_free(scenario)
    for index in (1, 2, 3):
        assert_port_free(backend_address(index, port), socket.SOCK_STREAM)


def test_without_nginx_a_live_run_is_one_line_naming_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No nginx: the message names Debian's package; `cascadesim run` says it in one line with the file and the
    field, exit 2, and a virtual run (the built-in model) does not need nginx at all."""
    monkeypatch.setattr("services.topology.nginx.nginx_binary", lambda: None)
    with pytest.raises(NginxUnavailable, match=r"^nginx is not installed \(Debian: apt-get install nginx\)$"):
        require_nginx()
    env = os.environ | {"CASCADESIM_NGINX": "/nonexistent/nginx"}
    live = subprocess.run([str(CLI), "run", str(SCENARIO)], capture_output=True, text=True, env=env, timeout=60)
    assert live.returncode == 2
    assert live.stderr.strip().splitlines() == [
        f"error: {SCENARIO}: dynamodb.load_balancer = 'nginx': CASCADESIM_NGINX=/nonexistent/nginx is not an executable"
    ]
    virtual = subprocess.run(
        [str(CLI), "run", str(SCENARIO), "--virtual", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert virtual.returncode == 0, virtual.stderr
