"""Reports in real headless Chromium, network blocked: no console error, no request, every chart drawn.

Needs Debian's chromium (`.ci/run` installs it). The screenshots go to test-artifacts/ at the top of the checkout.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reports.render import PLOTLY_FILE
from scenarios.cli.commands import app
from tests.chromium import ARTIFACTS, launched, require_chromium
from tests.helpers import CLI, ROOT, changed, scenario_file, shipped

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
HOSTILE_FILE = HOSTILE.replace("/", "")  # a policy set's name is its file's name, which cannot hold a slash

require_chromium()


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real virtual comparison of two policy sets, one with a name full of markup, on a short cascade."""
    base = tmp_path_factory.mktemp("reports")
    scenario = scenario_file(changed(shipped("cascade-live"), duration=80, description=HOSTILE), base)
    hostile_policy = base / f"{HOSTILE_FILE}.toml"
    shutil.copyfile(ROOT / "scenarios" / "policies" / "backoff-jitter.toml", hostile_policy)
    out = base / "runs"
    command = ["compare", str(scenario), "--virtual", "--jobs", "1", "-p", "naive", "-p", str(hostile_policy)]
    result = CliRunner().invoke(app, [*command, "--out", str(out)])
    assert result.exit_code == 0, result.output
    (root,) = out.iterdir()
    return root


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched()


def open_offline(browser: Any, page_path: Path, screenshot: str) -> dict[str, Any]:
    """Open a report with every request refused but the page's own file and the shared Plotly beside it or one
    directory up (a sweep's or a comparison's copy: reports/render.py); what the page did and drew."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    problems: list[str] = []
    shared = (page_path.parent / PLOTLY_FILE, page_path.parent.parent / PLOTLY_FILE)
    allowed = {page_path.as_uri(), *(path.as_uri() for path in shared if path.is_file())}

    def route(handled: Any) -> None:
        url = handled.request.url
        if url in allowed:
            handled.continue_()
        else:
            requests.append(url)
            handled.abort()

    page.route("**/*", route)
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(page_path.as_uri())
    page.wait_for_function("document.querySelectorAll('.chart .main-svg').length > 0")
    charts = page.evaluate(
        """Array.from(document.querySelectorAll('.chart')).map(el => ({
            id: el.id,
            traces: (el.data || []).length,
            points: (el.data || []).reduce((n, t) => n + (t.x || []).length, 0),
            drawn: el.querySelectorAll('.main-svg').length,
        }))"""
    )
    seen = {
        "requests": requests,
        "problems": problems,
        "charts": charts,
        "pwned": page.evaluate("window.__pwned === undefined ? null : window.__pwned"),
        "text": page.evaluate("document.body.innerText"),
        "legend": page.evaluate("Array.from(document.querySelectorAll('.legendtext')).map(e => e.textContent)"),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
    page.close()
    return seen


def test_a_run_report_loads_offline_with_every_chart_drawn(comparison: Path, browser: Any) -> None:
    """The naive run's report: no console error, no request but itself, each chart with data, a screenshot."""
    seen = open_offline(browser, comparison / "naive" / "report.html", "run-report.png")
    assert seen["problems"] == [] and seen["requests"] == []
    # Plotly once, beside the comparison's runs: each report loads that copy instead of carrying 3.5 MB of its own.
    assert (comparison / PLOTLY_FILE).stat().st_size > 1_000_000
    assert (comparison / "naive" / "report.html").stat().st_size < 500_000
    ids = {chart["id"] for chart in seen["charts"]}
    assert {"chart-timeline", "chart-dns", "chart-clients", "chart-service-dynamodb", "chart-dwfm"} <= ids
    assert all(chart["traces"] > 0 and chart["points"] > 0 and chart["drawn"] > 0 for chart in seen["charts"])
    assert (ARTIFACTS / "run-report.png").stat().st_size > 10_000


def test_a_comparison_report_loads_offline_with_every_chart_drawn(comparison: Path, browser: Any) -> None:
    """comparison.html: no console error, no request, overlays and small multiples all drawn, a screenshot."""
    seen = open_offline(browser, comparison / "comparison.html", "comparison-report.png")
    assert seen["problems"] == [] and seen["requests"] == []
    ids = [chart["id"] for chart in seen["charts"]]
    assert ids == ["chart-goodput", "chart-dynamodb", "chart-policy-0", "chart-policy-1"]
    assert all(chart["traces"] > 0 and chart["points"] > 0 and chart["drawn"] > 0 for chart in seen["charts"])


def test_names_full_of_markup_are_shown_as_text_and_never_run(comparison: Path, browser: Any) -> None:
    """A description and a policy-set name made of HTML and script appear as text on both pages; nothing runs."""
    hostile_dir = next(p for p in comparison.iterdir() if p.is_dir() and p.name != "naive")
    run = open_offline(browser, hostile_dir / "report.html", "hostile-run.png")
    compared = open_offline(browser, comparison / "comparison.html", "hostile-comparison.png")
    for seen in (run, compared):
        assert seen["pwned"] is None
        assert seen["requests"] == []  # the <img src=x> never loaded
        assert HOSTILE_FILE in seen["text"]  # the policy set's name, in the header or the KPI table
    assert HOSTILE in run["text"]  # the scenario's description
    assert HOSTILE_FILE in compared["legend"]  # the overlays' legend names it as text


def test_a_sweep_map_loads_offline_and_every_cell_links_to_its_report(tmp_path: Path, browser: Any) -> None:
    """map.html of a small retry-storm sweep (two spike lengths, two policy sets): no console error, no request,
    every chart drawn, and each run's link leads to a report that exists."""
    done = subprocess.run(
        [
            str(CLI),
            "sweep",
            str(ROOT / "scenarios" / "retry-storm.toml"),
            "--vary",
            "faults[0].duration=3,10",
            "--vary",
            "duration=130",
            "-p",
            "naive",
            "-p",
            "adaptive-concurrency",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (page,) = tmp_path.glob("*/map.html")
    seen = open_offline(browser, page, "sweep-map.png")
    assert seen["problems"] == [] and seen["requests"] == []
    ids = [chart["id"] for chart in seen["charts"]]
    assert ids == ["chart-boundaries", "chart-0-share", "chart-0-recovery", "chart-1-share", "chart-1-recovery"]
    assert all(chart["traces"] > 0 and chart["drawn"] > 0 for chart in seen["charts"])
    links = re.findall(r'<a href="([^"]+)">', page.read_text())
    assert len(links) == 4 and all((page.parent / link).is_file() for link in links)
    cell = open_offline(browser, page.parent / links[0], "sweep-cell.png")  # on the sweep's one copy of Plotly
    assert cell["problems"] == [] and cell["requests"] == [] and cell["charts"]
    assert all(chart["traces"] > 0 and chart["drawn"] > 0 for chart in cell["charts"])
    assert "naive" in seen["text"] and "does not tip in range" in seen["text"]
