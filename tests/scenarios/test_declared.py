"""A service declared in a scenario, through the DNS race, in virtual time: its operations call DynamoDB and
another declared service through the shared resolver, a cached call stands in while DynamoDB's name is empty,
and everything comes back with DNS."""

from __future__ import annotations

import csv
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from scenarios.config.declared_services import DeclaredCall, DeclaredService, Operation
from scenarios.config.schema import LoadConfig, LoadStage, Scenario, ScenarioError, parse_scenario
from scenarios.run.runner import run_scenario
from services import runtime
from services.client.service_client import ServiceClient
from services.dns.stub import StubResolver
from services.events import EventLog
from services.net.virtual_network import VirtualNetwork
from services.runtime.kernel import run_in_virtual_time
from services.topology.cloud import Cloud, declared_name
from tests.helpers import CLI, changed, on_free_ports, only_run, read_json, scenario_file, shipped

PAYMENTS = DeclaredService(
    name="payments",
    operations={"Charge": Operation(calls=(DeclaredCall(service="dynamodb", operation="PutItem", table="charges"),))},
)
SHOP = DeclaredService(
    name="shop",
    operations={
        "Browse": Operation(
            calls=(
                DeclaredCall(
                    service="dynamodb",
                    operation="GetItem",
                    table="catalog",
                    cache_ttl=2,
                    on_failure="serve_from_cache",
                ),
            )
        ),
        "Checkout": Operation(calls=(DeclaredCall(service="payments", operation="Charge"),)),
    },
)


def _run() -> tuple[list[tuple[float, str, int]], float, float]:
    scenario = changed(shipped("dns-race"), services=(PAYMENTS, SHOP), duration=70)
    seen: list[tuple[float, str, int]] = []

    async def main() -> tuple[float, float]:
        events = EventLog(runtime.current_time)

        async def clients(cloud: Cloud) -> None:
            stub = StubResolver(cloud.network, cloud.dns.settings.resolver, random.Random(1), cache=True)
            shop = ServiceClient(cloud.network, stub, declared_name("shop"), 8000, random.Random(2), timeout=2.0)
            start = runtime.current_time() - events.now()
            while True:
                for operation in ("Browse", "Checkout"):
                    result = await shop.call("POST", f"/{operation}")
                    seen.append((events.now(), operation, result.outcome.status or 0))
                await runtime.sleep_until(start + int(events.now()) + 1)

        await run_scenario(scenario, VirtualNetwork(0.0005), events, clients=clients)
        emptied = next(e.t for e in events.events if e.kind == "record_emptied")
        filled = next(e.t for e in events.events if e.kind == "record_filled")
        return emptied, filled

    emptied, filled = run_in_virtual_time(main)
    return seen, emptied, filled


def test_a_declared_service_rides_its_cache_through_the_race_and_its_dependency_does_not() -> None:
    """Before the race both operations answer 200. While DynamoDB's name is empty, Checkout (payments writes to
    DynamoDB) answers 503 ServiceUnavailable, and Browse keeps answering 200 from its cache (served stale). After
    the repair, both answer 200 again."""
    seen, emptied, filled = _run()
    before = [status for t, _, status in seen if 2 < t < emptied]
    assert before and set(before) == {200}
    during = {op: {s for t, o, s in seen if o == op and emptied + 6 < t < filled} for op in ("Browse", "Checkout")}
    assert during == {"Browse": {200}, "Checkout": {503}}
    after = {op: {s for t, o, s in seen if o == op and t > filled + 8} for op in ("Browse", "Checkout")}
    assert after == {"Browse": {200}, "Checkout": {200}}


BROKEN = [
    (
        {"services": [{"name": "shop", "operations": {"Browse": {"calls": [{"service": "shopp", "operation": "X"}]}}}]},
        "services[0].operations.Browse.calls[0].service = 'shopp': no such service (known: dynamodb, ec2, lambda, "
        "shop)",
    ),
    (
        {
            "services": [
                {"name": "a", "operations": {"Go": {"calls": [{"service": "b", "operation": "Go"}]}}},
                {"name": "b", "operations": {"Go": {"calls": [{"service": "a", "operation": "Go"}]}}},
            ]
        },
        "services[0].name = 'a': a dependency cycle: a → b → a",
    ),
    (
        {"services": [{"name": "a", "operations": {"Go": {"calls": [{"service": "lambda", "operation": "Invoke"}]}}}]},
        "services[0].operations.Go.calls[0].service = 'lambda': needs a [lambda] section",
    ),
    (
        {"services": [{"name": "dynamodb", "operations": {"Go": {}}}]},
        "services[0].name = 'dynamodb': is a built-in service's or node's name",
    ),
    (
        {"services": [{"name": "router-1", "operations": {"Go": {}}}]},
        "services[0].name = 'router-1': is a built-in service's or node's name",
    ),
    (
        {"ec2": {"droplets": 1}, "services": [{"name": "c", "operations": {"Go": {}}, "nlb": {"targets": 8}}]},
        "services = '12 instances': the NLBs need more than [ec2] has (4)",
    ),
    (
        {"load": {"mix": {"shop": 1}, "stages": [{"until": 10, "users": 1}]}},
        "load.mix.shop = 'shop': must be one of dynamodb, ec2, lambda",
    ),
    (
        {"ec2": {}, "services": [{"name": "c", "operations": {"Go": {}}, "nlb": {"check_capacity": 5}}]},
        "services[0].nlb.check_capacity = 5.0: must be above one check per target and node (5)",
    ),
]


@pytest.mark.parametrize(("change", "expected"), BROKEN, ids=lambda v: str(v)[:30])
def test_a_broken_declaration_is_one_line_naming_the_field(change: dict[str, object], expected: str) -> None:
    """An unknown service, a dependency cycle, a missing section, a taken name or an unknown load kind: one line
    that names the field."""
    data = {"name": "x", **change}
    with pytest.raises(ScenarioError) as error:
        parse_scenario(data, "x.toml")
    assert str(error.value).startswith(f"x.toml: {expected}"), str(error.value)


def _shop_scenario(duration: float) -> Scenario:
    load = LoadConfig(mix={"dynamodb": 1, "shop": 2}, spawn_rate=20, stages=(LoadStage(until=duration, users=6),))
    return changed(shipped("dns-race"), services=(PAYMENTS, SHOP), duration=duration, faults=(), operator=(), load=load)


@pytest.mark.live
def test_a_declared_service_runs_live_and_virtual_and_has_its_own_chart(tmp_path: Path) -> None:
    """The shop and payments services, declared here (not in a shipped file), under load from their own user kind:
    `cascadesim run` live (Locust) and --virtual both serve the shop's users, and each report has the shop's and
    the payments service's charts."""
    path = scenario_file(on_free_ports(_shop_scenario(12)), tmp_path)
    for mode in ([], ["--virtual"]):
        out = tmp_path / ("virtual" if mode else "live")
        done = subprocess.run(
            [str(CLI), "run", str(path), "--out", str(out), *mode], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        run = only_run(out)
        rows = list(csv.DictReader((run / "timeseries.csv").read_text().splitlines()))
        assert sum(int(r["clients_shop_ok"]) for r in rows) > 10
        assert sum(int(r["payments_arrivals"]) for r in rows) > 5
        page = (run / "report.html").read_text()
        assert 'id="chart-service-shop"' in page and 'id="chart-service-payments"' in page
        saturated = read_json(run / "kpis.json")["kpis"]["saturated_seconds"]
        if mode:  # virtual time has no machine limit
            assert saturated is None and "harness_cloud_cpu" not in rows[0]
        else:  # live: the cloud's and Locust's lag and CPU each second
            assert isinstance(saturated, int)
            assert any(float(r["harness_cloud_cpu"]) > 0 for r in rows)
            assert any(float(r["harness_locust_cpu"]) > 0 for r in rows)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda s: changed(s, services=(SHOP,)),
            "services[0].operations.Checkout.calls[0].service = 'payments': no such service",
        ),
        (
            lambda s: changed(
                s,
                services=(
                    changed(
                        PAYMENTS,
                        operations={"Charge": Operation(calls=(DeclaredCall(service="shop", operation="Checkout"),))},
                    ),
                    SHOP,
                ),
            ),
            "services[0].name = 'payments': a dependency cycle: payments → shop → payments",
        ),
    ],
)
def test_validate_refuses_a_cycle_and_an_unknown_service_in_one_line(
    tmp_path: Path, change: Any, expected: str
) -> None:
    """`cascadesim validate` on a file with a dependency cycle, or a call to an unknown service: one line, exit 2."""
    path = tmp_path / "broken.toml"
    data = change(shipped("dns-race")).model_dump(mode="json", by_alias=True, exclude_none=True)
    path.write_text(tomli_w.dumps(data))
    done = subprocess.run([str(CLI), "validate", str(path)], capture_output=True, text=True, timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"error: {path}: {expected}"), lines
