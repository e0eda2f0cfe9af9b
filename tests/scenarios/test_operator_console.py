"""The operator's console in real headless Chromium, against a real live run (scenarios/run/operator_console.py).

`cascadesim serve SCENARIO --console` on ports the kernel picked, in its own process; the page is opened with every
request refused but the console's own server, so nothing can leave the machine. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scenarios.cli.commands import app
from scenarios.config.schema import load_scenario
from services.events import read_events
from tests.helpers import CLI, ROOT, changed, on_free_ports, scenario_file, shipped

pytestmark = [pytest.mark.live, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ZONE = "(document.querySelector('#node-zone') || {textContent: ''}).textContent"  # the zone's node, as drawn

if not Path(CHROMIUM).is_file():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


class ConsoleRun:
    """`cascadesim serve SCENARIO --console` in its own process group, and its page's address."""

    def __init__(self, scenario: Path, out: Path) -> None:
        command = [str(CLI), "serve", str(scenario), "--console", "--out", str(out)]
        env = os.environ | {"PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
        self.out = out
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True
        )
        self.lines: list[str] = []
        deadline = time.monotonic() + 60
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if found := re.search(r"operator's console: (http://127\.0\.0\.1:\d+/)", line):
                self.url = found.group(1)
                return
        self.stop()
        raise AssertionError("no console address printed:\n" + "".join(self.lines))

    def stop(self) -> str:
        """Ctrl-C, as a user would; what the command printed."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            rest, _ = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            rest, _ = self.process.communicate()
        return "".join(self.lines) + (rest or "")


def open_console(browser: Any, url: str) -> tuple[Any, list[str], list[str]]:
    """The page, with every request refused but the console's own; (page, requests refused, console problems)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    refused: list[str] = []
    problems: list[str] = []

    def route(handled: Any) -> None:
        if handled.request.url.startswith(url):
            handled.continue_()
        else:
            refused.append(handled.request.url)
            handled.abort()

    page.route("**/*", route)
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(url)
    return page, refused, problems


def wait_until(page: Any, expression: str, seconds: float) -> None:
    """Poll a JavaScript expression in the page until it is true (Playwright's wait_for_function evaluates a string,
    which the console's Content-Security-Policy forbids, as it should)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {seconds:g} s: {expression}")
        time.sleep(0.05)


def points(page: Any) -> int:
    return int(page.evaluate("document.getElementById('chart-dns').data[0].x.length"))


def test_the_record_empties_and_comes_back_when_restored_from_the_page(browser: Any, tmp_path: Path) -> None:
    """dns-race: the zone's node shows the record's addresses, none within 2 s of the race emptying it, and its
    addresses again after "Restore DNS" is pressed; the charts gain points; no request leaves; then response.toml
    replays the press at the same scenario time in virtual time."""
    scenario = scenario_file(on_free_ports(shipped("dns-race")), tmp_path)
    run = ConsoleRun(scenario, tmp_path / "run")
    try:
        page, refused, problems = open_console(browser, run.url)
        wait_until(page, f"{ZONE}.includes('127.0.1.')", 15)
        before = points(page)
        # The race: nothing in the page or the test empties the record; the Enactors do.
        page.wait_for_selector("#events li[data-kind=record_emptied]", timeout=60_000)
        emptied_at = time.monotonic()
        wait_until(page, f"{ZONE}.includes('no address')", 2)
        shown_after = time.monotonic() - emptied_at
        page.screenshot(path=str(_artifact("console-record-empty.png")), full_page=True)
        page.click("button[data-action=restore_dns]")
        wait_until(page, f"{ZONE}.includes('127.0.1.')", 5)
        page.wait_for_selector("#events li[data-kind=operator_action] .by", timeout=5_000)
        assert points(page) > before
        page.screenshot(path=str(_artifact("console-restored.png")), full_page=True)
        assert refused == [] and problems == [], (refused, problems)
        assert shown_after < 2.0
        page.close()
    finally:
        said = run.stop()
    assert "run directory:" in said, said
    events = read_events(run.out / "events.jsonl")
    pressed = [e for e in events if e.kind == "operator_action"]
    assert [(e.data["action"], e.data.get("by")) for e in pressed] == [("restore_dns", "console")]
    # Your response as a scenario: it validates, and plays the same action at the same scenario time.
    response = load_scenario(run.out / "response.toml")
    assert [a.kind for a in response.operator] == ["restore_dns"]
    assert response.operator[0].at == pytest.approx(pressed[0].t, abs=0.002)
    replayed = tmp_path / "replayed"
    result = CliRunner().invoke(app, ["run", str(run.out / "response.toml"), "--virtual", "--out", str(replayed)])
    assert result.exit_code == 0, result.output
    (directory,) = replayed.iterdir()
    again = [e for e in read_events(directory / "events.jsonl") if e.kind == "operator_action"]
    assert [e.data["action"] for e in again] == ["restore_dns"]
    assert again[0].t == pytest.approx(pressed[0].t, abs=0.002)
    assert not (run.out / "INCOMPLETE").exists()
    assert json.loads((run.out / "meta.json").read_text())["interrupted"] is True


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def test_an_action_the_page_does_not_have_is_refused(tmp_path: Path) -> None:
    """A POST naming no known action gets a 4xx and a reason, and the run goes on."""
    import httpx

    scenario = scenario_file(changed(on_free_ports(shipped("dns-race")), duration=20), tmp_path)
    run = ConsoleRun(scenario, tmp_path / "run")
    try:
        bad = httpx.post(run.url + "api/action", content=b"{not json", timeout=5)
        unknown = httpx.post(run.url + "api/action", json={"action": "format_the_disk"}, timeout=5)
        revive = httpx.post(run.url + "api/action", json={"action": "revive:router-1"}, timeout=5)
        info = httpx.get(run.url + "api/info", timeout=5).json()
    finally:
        run.stop()
    assert (bad.status_code, unknown.status_code, revive.status_code) == (400, 404, 409)
    assert "format_the_disk" in unknown.json()["error"]
    assert {"race", "restore_dns", "kill:router-1"} <= {c["id"] for c in info["controls"]}
