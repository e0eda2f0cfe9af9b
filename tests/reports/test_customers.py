"""A customer's view of a run (reports/customers.py) and a what-if comparison's page: the services' time in errors,
the incident's length, which phases of AWS's timeline happened, and what changed from the baseline."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from reports.columns import CLIENTS_LOGICAL, CLIENTS_OK, DNS_REGIONAL_ADDRESSES, DYNAMODB_ARRIVALS, SECOND
from reports.comparison import error_windows_chart, render_comparison, what_if_tables
from reports.customers import (
    clock_text,
    customer_view,
    delta_text,
    differences,
    duration_text,
    shown_seconds,
    variant_entry,
)
from scenarios.run.console import customer_table
from services.event_kinds import EventKind, OperatorKind
from services.events import Event
from tests.reports.test_render import write_comparison

HOUR = 3600


def emptied(t: float, name: str) -> Event:
    return Event(t, EventKind.RECORD_EMPTIED, "route53", f"{name} has no addresses: DNS answers NODATA", {"name": name})


def filled(t: float, name: str) -> Event:
    return Event(t, EventKind.RECORD_FILLED, "route53", f"{name} has addresses again", {"name": name})


def nlb(t: float, kind: str) -> Event:
    return Event(t, kind, "sts", "sts-1 out of service" if kind == EventKind.NLB_TARGET_OUT else "sts-1 back")


def operator(t: float, action: str) -> Event:
    return Event(t, EventKind.OPERATOR_ACTION, "operator", f"{action}: done", {"action": action})


# The incident as it happened, in small: a DNS race, lost leases, a stuck poller and a flapping NLB.
KPIS: dict[str, Any] = {
    "error_windows": {
        "sts": [[26, 9441], [16030, 35300]],
        "lambda": [[41, 9441]],
        "ec2": [[64, 16001]],
        "connect": None,
        "dynamodb": [[25, 9442]],
    },
    "slo_violation_minutes": {"dynamodb": 158, "ec2": 266, "lambda": 158, "sts": 480, "redshift": 0},
}
EVENTS = [
    emptied(17, "dynamodb-fips.us-east-1.cloud.test"),
    emptied(24, "dynamodb.us-east-1.cloud.test"),
    Event(25, EventKind.RECORD_EMPTIED, "route53", "dynamodb.us-east-1.api.cloud.test has no addresses", {}),
    emptied(30, "sts.us-east-1.cloud.test"),  # not DynamoDB's: no part of the DNS phase
    Event(36, EventKind.LEASES_EXPIRING, "dwfm-1", "9 of 100 droplet leases expired"),
    Event(41, EventKind.POLLER_STUCK, "sqs-poller", "event source poller stopped"),
    Event(56, EventKind.LAUNCHES_FAILING, "ec2-canary", "RunInstances fails"),
    filled(9000, "dynamodb-fips.us-east-1.cloud.test"),
    filled(9440, "dynamodb.us-east-1.cloud.test"),
    Event(9440, EventKind.RECORD_FILLED, "route53", "dynamodb.us-east-1.api.cloud.test has addresses again", {}),
    operator(9440, OperatorKind.RESTORE_DNS),
    Event(9472, EventKind.DWFM_NO_PROGRESS, "dwfm-1", "DWFM congestive collapse"),
    operator(16000, OperatorKind.RESTART_DWFM),
    Event(16001, EventKind.LAUNCHES_RECOVERED, "ec2-canary", "RunInstances succeeds again"),
    Event(16001, EventKind.PROPAGATION_BACKLOG, "netmgr", "network propagation backlog: 45 items waiting"),
    nlb(16005, EventKind.NLB_TARGET_OUT),
    Event(16010, EventKind.LEASES_RECOVERED, "dwfm-1", "all 100 droplet leases held again"),
    nlb(16200, EventKind.NLB_TARGET_IN),
    nlb(16400, EventKind.NLB_TARGET_OUT),  # 200 s after the last change: the same stretch
    operator(17560, OperatorKind.RESTART_POLLER),
    nlb(20000, EventKind.NLB_TARGET_IN),  # 3600 s after: it came back, no flapping
    nlb(30000, EventKind.NLB_TARGET_OUT),  # a second stretch
    nlb(30299, EventKind.NLB_TARGET_IN),
    operator(35300, OperatorKind.DISABLE_NLB_FAILOVER),
    Event(52340, EventKind.RUN_STOPPED, "runner", "stopped"),
]


def test_durations_read_in_seconds_then_hours_and_minutes() -> None:
    assert [duration_text(s) for s in (0, 45, 59.4, 59.6, 3120, 24060, 9417, -349 * 60)] == [
        "0 s",
        "45 s",
        "59 s",
        "0 h 1 min",
        "0 h 52 min",
        "6 h 41 min",
        "2 h 37 min",
        "−5 h 49 min",
    ]
    assert [delta_text(s) for s in (-349 * 60, 12, 0.2)] == ["−5 h 49 min", "+12 s", "no change"]
    assert [clock_text(s) for s in (0, 64, 16001, 35300)] == ["0:00", "0:01", "4:26", "9:48"]
    assert [shown_seconds(s) for s in (45.4, 15937, -15937, 3120)] == [45, 266 * 60, -266 * 60, 52 * 60]


def test_each_service_a_customer_sees_in_order_with_its_windows() -> None:
    """DynamoDB, EC2 launches, Lambda, then the rest by name; a service with no window (None, or only an SLO
    entry) is there with no errors; the incident spans every service's windows."""
    view = customer_view(KPIS, EVENTS)
    services = view["services"]
    assert [s["label"] for s in services] == ["DynamoDB", "EC2 launches", "Lambda", "Connect", "Redshift", "STS"]
    ec2 = services[1]
    assert ec2 == {
        "kind": "ec2",
        "label": "EC2 launches",
        "windows": [[64, 16001]],
        "error_s": 15937,
        "first_s": 64,
        "last_s": 16001,
    }
    sts = services[5]
    assert (sts["error_s"], sts["first_s"], sts["last_s"]) == (9415 + 19270, 26, 35300)
    for quiet in services[3:5]:
        assert (quiet["windows"], quiet["error_s"], quiet["first_s"], quiet["last_s"]) == ([], 0, None, None)
    assert view["incident"] == {"first_s": 25, "last_s": 35300, "length_s": 35275}
    assert view["end_s"] == 52340
    assert view["actions"] == [
        {"action": "restore_dns", "t": 9440},
        {"action": "restart_dwfm", "t": 16000},
        {"action": "restart_poller", "t": 17560},
        {"action": "disable_nlb_failover", "t": 35300},
    ]
    assert json.loads(json.dumps(view)) == view  # JSON-ready


def test_the_phases_of_the_timeline_from_the_events() -> None:
    """DynamoDB's three names' empty stretches merge into one (another name's does not count); DWFM's collapse
    ends with its leases; the poller is restarted by the operators; the NLB's changes less than 300 s apart are one
    stretch of flapping."""
    phases = customer_view(KPIS, EVENTS)["phases"]
    spans = {key: phase["spans"] for key, phase in phases.items()}
    assert spans == {
        "dns_empty": [[17, 9440]],
        "leases_lost": [[36, 16010]],
        "dwfm_collapse": [[9472, 16010]],
        "launches_failing": [[56, 16001]],
        "netmgr_backlog": [[16001, None]],  # never drained: it went on to the end of the run
        "nlb_flapping": [[16005, 16400], [30000, 30299]],
        "poller_stuck": [[41, 17560]],
    }
    assert phases["dns_empty"]["label"] == "DNS record empty"
    assert phases["nlb_flapping"]["label"] == "NLB health checks flapping"
    assert phases["netmgr_backlog"]["length_s"] == 52340 - 16001  # up to the run's end
    assert phases["nlb_flapping"]["length_s"] == 395 + 299


def test_a_phase_that_never_happened_has_no_spans_and_unmatched_starts_stay_open() -> None:
    events = [
        emptied(10, "dynamodb.us-east-1.cloud.test"),
        emptied(20, "dynamodb-fips.us-east-1.cloud.test"),
        filled(30, "dynamodb-fips.us-east-1.cloud.test"),  # inside the regional name's open stretch
        emptied(100, "dynamodb-fips.us-east-1.cloud.test"),
        Event(50, EventKind.POLLER_STUCK, "sqs-poller", "stopped"),
        Event(60, EventKind.POLLER_RESTARTED, "sqs-poller", "polls again", {"action": "restart_poller"}),
        Event(70, EventKind.POLLER_STUCK, "sqs-poller", "stopped again"),
        Event(80, "nlb_flapping", "sts", "the NLB flaps"),
        Event(200, EventKind.RUN_INTERRUPTED, "runner", "interrupted"),
    ]
    phases = customer_view({}, events)["phases"]
    assert phases["dns_empty"]["spans"] == [[10, None]]
    assert phases["dns_empty"]["length_s"] == 190
    assert phases["poller_stuck"]["spans"] == [[50, 60], [70, None]]
    assert phases["nlb_flapping"]["spans"] == [[80, 80]]
    for key in ("leases_lost", "dwfm_collapse", "launches_failing", "netmgr_backlog"):
        assert phases[key]["spans"] == [] and phases[key]["length_s"] is None, key
    assert customer_view({}, [])["incident"] == {"first_s": None, "last_s": None, "length_s": None}


FIXED_KPIS: dict[str, Any] = {
    "error_windows": {"dynamodb": [], "ec2": [[64, 3184]], "lambda": [], "sts": [[26, 71]]},
    "slo_violation_minutes": {"dynamodb": 0, "ec2": 52, "lambda": 0, "sts": 0, "redshift": 0},
}
FIXED_EVENTS = [
    Event(36, EventKind.LEASES_EXPIRING, "dwfm-1", "leases expired"),
    Event(56, EventKind.LAUNCHES_FAILING, "ec2-canary", "RunInstances fails"),
    Event(3180, EventKind.LEASES_RECOVERED, "dwfm-1", "leases held again"),
    Event(3184, EventKind.LAUNCHES_RECOVERED, "ec2-canary", "RunInstances succeeds again"),
    Event(52340, EventKind.RUN_STOPPED, "runner", "stopped"),
]


def test_the_differences_from_the_baseline_in_a_line_each() -> None:
    baseline = customer_view(KPIS, EVENTS)
    fixed = customer_view(FIXED_KPIS, FIXED_EVENTS)
    assert differences(baseline, fixed) == [
        "DynamoDB: 2 h 37 min of errors → no errors",
        "EC2 launches: 4 h 26 min of errors → 0 h 52 min",
        "Lambda: 2 h 37 min of errors → no errors",
        "Connect: no errors → not measured",
        "Redshift: no errors → no errors",
        "STS: 7 h 58 min of errors → 45 s",
        "Incident length: 9 h 48 min → 0 h 53 min",
        "DNS record empty: 2 h 37 min → did not happen",
        "DWFM congestive collapse: 1 h 49 min → did not happen",
        "Network Manager backlog: 10 h 6 min → did not happen",
        "NLB health checks flapping: 0 h 12 min → did not happen",
        "Lambda poller stuck: 4 h 52 min → did not happen",
    ]
    assert differences(fixed, baseline)[-1] == "Lambda poller stuck: did not happen → 4 h 52 min"
    assert differences(fixed, fixed)[:2] == [
        "DynamoDB: no errors → no errors",
        "EC2 launches: 0 h 52 min of errors → 0 h 52 min",
    ]


# A what-if comparison directory, as `cascadesim compare` writes one.


def write_variant_run(directory: Path, kpis: dict[str, Any], events: list[Event], seconds: int = 60) -> None:
    directory.mkdir(parents=True)
    meta = {"scenario": "aws-2025-10-19", "mode": "virtual", "seed": 1, "duration": seconds, "interrupted": False}
    (directory / "meta.json").write_text(json.dumps(meta))
    (directory / "kpis.json").write_text(json.dumps({"kpis": kpis, "definitions": {}}))
    (directory / "events.jsonl").write_text("".join(event.to_json() + "\n" for event in events))
    columns = [SECOND, CLIENTS_LOGICAL, CLIENTS_OK, DYNAMODB_ARRIVALS, DNS_REGIONAL_ADDRESSES]
    with (directory / "timeseries.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows([second, 10, 10 if second % 20 else 2, 12, 3] for second in range(1, seconds + 1))


def write_what_if(root: Path) -> dict[str, Any]:
    root.mkdir()
    write_variant_run(root / "as-it-happened", KPIS, EVENTS)
    write_variant_run(root / "enactors-fixed", FIXED_KPIS, FIXED_EVENTS)
    baseline = variant_entry("as-it-happened", "The outage as it was.", {}, root / "as-it-happened", KPIS, None)
    fixed = variant_entry(
        "enactors-fixed",
        "The Enactors <b>check</b> the plan's generation before writing.",
        {"enactors.variant": "fixed"},
        root / "enactors-fixed",
        FIXED_KPIS,
        baseline["customers"],
    )
    summary = {
        "scenario": "aws-2025-10-19",
        "mode": "virtual",
        "what_if": "scenarios/what-if/aws-fixes.toml",
        "question": "What if the Enactors had checked the plan's generation?",
        "baseline": "as-it-happened",
        "variants": [fixed, baseline],  # the baseline is named, not necessarily first
        "runs": [
            {"policy": v["name"], "directory": v["directory"], "kpis": k}
            for v, k in ((baseline, KPIS), (fixed, FIXED_KPIS))
        ],
        "definitions": {},
    }
    (root / "comparison.json").write_text(json.dumps(summary))
    return summary


def test_a_variant_entry_reads_the_events_a_report_does_not_keep(tmp_path: Path) -> None:
    """The NLB's target changes are not among a report's notable events, yet the flapping phase needs them."""
    summary = write_what_if(tmp_path / "cmp")
    fixed, baseline = summary["variants"]
    assert baseline["differences"] == [] and baseline["directory"] == "as-it-happened"
    assert baseline["customers"]["phases"]["nlb_flapping"]["spans"] == [[16005, 16400], [30000, 30299]]
    assert fixed["set"] == {"enactors.variant": "fixed"}
    assert fixed["differences"][1] == "EC2 launches: 4 h 26 min of errors → 0 h 52 min"
    assert fixed["customers"] == customer_view(FIXED_KPIS, FIXED_EVENTS)


def charts_of(page: str) -> list[dict[str, Any]]:
    """The figures a page hands to Plotly."""
    found = re.search(r"var charts = (.*);\n", page)
    assert found is not None
    charts: list[dict[str, Any]] = json.loads(found.group(1))
    return charts


def test_a_what_if_page_leads_with_what_the_customers_saw(tmp_path: Path) -> None:
    write_what_if(tmp_path / "cmp")
    page = render_comparison(tmp_path / "cmp").read_text()
    assert page.index('id="question"') < page.index('id="customers"') < page.index('id="phases"')
    assert page.index('id="chart-error-windows"') < page.index('id="kpis"')
    assert "What if the Enactors had checked the plan&#39;s generation?" in page
    assert "&lt;b&gt;check&lt;/b&gt;" in page  # a sentence is text
    customers = page[page.index('id="customers"') : page.index("</table>", page.index('id="customers"'))]
    # The baseline's column first; its cells without a change, the other's with one.
    assert customers.index(">as-it-happened<") < customers.index(">enactors-fixed<")
    ec2 = customers[
        customers.index("<th>EC2 launches</th>") : customers.index("</tr>", customers.index("EC2 launches"))
    ]
    assert re.findall(r'<td class="value ([a-z]*)">([^<]*)<div class="impact">([^<]*)</div>', ec2) == [
        ("", "4 h 26 min", "0:01–4:26"),
        ("better", "0 h 52 min", "0:01–0:53"),
    ]
    assert '<div class="delta">−3 h 34 min</div>' in ec2
    incident = customers[customers.index('id="incident-length"') :]
    assert ">9 h 48 min<" in incident and ">0 h 53 min<" in incident and ">−8 h 55 min<" in incident
    phases = page[page.index('id="phases"') : page.index("</table>", page.index('id="phases"'))]
    nlb = phases[phases.index("NLB health checks flapping") : phases.index("</tr>", phases.index("NLB health"))]
    assert ">0 h 12 min<" in nlb and ">did not happen<" in nlb
    assert ">10 h 6 min (to the end of the run)<" in phases  # the backlog that never drained
    assert "<li>STS: 7 h 58 min of errors → 45 s</li>" in page
    assert "<th>variant</th>" in page and "policy sets compared" not in page

    charts = charts_of(page)
    assert [c["id"] for c in charts] == ["error-windows", "goodput", "dynamodb", "policy-0", "policy-1"]
    figure = charts[0]
    assert figure["layout"]["title"]["text"] == "Error windows per variant"
    lanes = figure["layout"]["yaxis"]["categoryarray"]
    assert lanes[:2] == ["as-it-happened · DynamoDB", "as-it-happened · EC2 launches"]
    assert len(lanes) == 11 and lanes[6] == "enactors-fixed · DynamoDB"
    baseline, fixed = figure["data"][1:]
    assert (baseline["name"], fixed["name"]) == ("as-it-happened", "enactors-fixed")
    at = baseline["y"].index("as-it-happened · EC2 launches")
    assert baseline["base"][at] == pytest.approx(64 / HOUR, abs=1e-4)
    assert baseline["x"][at] == pytest.approx((16001 - 64) / HOUR, abs=1e-4)
    assert baseline["y"].count("as-it-happened · STS") == 2  # each window a bar
    assert fixed["y"] == ["enactors-fixed · EC2 launches", "enactors-fixed · STS"]


def test_a_policy_comparison_has_no_what_if_part(tmp_path: Path) -> None:
    write_comparison(tmp_path / "cmp", interrupted=False)
    page = render_comparison(tmp_path / "cmp").read_text()
    assert "policy sets compared" in page and "<th>policy set</th>" in page
    assert "What the customers saw" not in page and "chart-error-windows" not in page
    assert [c["id"] for c in charts_of(page)] == ["goodput", "dynamodb", "policy-0", "policy-1"]
    assert what_if_tables({"runs": []}) is None


def test_the_chart_draws_a_lane_for_a_service_without_errors() -> None:
    variants = [{"name": "a", "customers": customer_view({"error_windows": {"ec2": []}}, [])}]
    figure = error_windows_chart(variants)
    assert figure["layout"]["yaxis"]["categoryarray"] == ["a · EC2 launches"]
    assert figure["data"][0]["y"] == ["a · EC2 launches"] and figure["data"][1]["y"] == []


def test_the_terminal_table_shows_each_variants_errors_and_the_change() -> None:
    variants = [
        {"name": "as-it-happened", "customers": customer_view(KPIS, EVENTS)},
        {"name": "enactors-fixed", "customers": customer_view(FIXED_KPIS, FIXED_EVENTS)},
    ]
    console = Console(width=100, record=True)
    console.print(customer_table(variants, "as-it-happened"))
    lines = console.export_text().splitlines()
    header = next(line for line in lines if "EC2 launches" in line).split()
    assert header[:3] == ["variant", "DynamoDB", "EC2"] and header[-1] == "incident"
    baseline = next(line for line in lines if line.strip().startswith("as-it-happened")).split()
    fixed = lines[lines.index(next(line for line in lines if line.strip().startswith("enactors-fixed"))) :][:2]
    assert baseline[2] == "4h26m"  # EC2 launches, the baseline's errors
    assert fixed[0].split()[2] == "0h52m" and fixed[1].split()[1] == "−3h34m"  # the fix's, and the change


@pytest.mark.browser
def test_a_what_if_page_draws_offline_without_a_console_error(tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).is_file():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    write_what_if(tmp_path / "cmp")
    path = render_comparison(tmp_path / "cmp")
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route("**/*", lambda r: r.continue_() if r.request.url == path.as_uri() else r.abort())
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_function("document.querySelectorAll('#chart-error-windows .main-svg').length > 0")
        bars = page.evaluate("document.querySelectorAll('#chart-error-windows .bars path').length")
        browser.close()
    assert problems == []
    assert bars >= 7  # the baseline's five windows and the fixed run's two
