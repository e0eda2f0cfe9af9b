"""The operator's console in real headless Chromium, against a real live run (scenarios/run/operator_console.py).

`cascadesim serve SCENARIO --console` on ports the kernel picked, in its own process; the page is opened with every
request refused but the console's own server, so nothing can leave the machine. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scenarios.cli.commands import app
from scenarios.config.schema import load_scenario
from services.dns import REGIONAL
from services.events import read_events
from tests.chromium import artifact, launched, require_chromium
from tests.helpers import CLI, ROOT, changed, on_free_ports, scenario_file, shipped

pytestmark = [pytest.mark.live, pytest.mark.browser]

ZONE = "(document.querySelector('#node-zone') || {textContent: ''}).textContent"  # the zone's node, as drawn

require_chromium()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched()


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
        page.wait_for_selector(f"#events li[data-kind=record_emptied][data-name='{REGIONAL}']", timeout=60_000)
        emptied_at = time.monotonic()
        wait_until(page, f"{ZONE}.includes('no address')", 2)
        shown_after = time.monotonic() - emptied_at
        page.screenshot(path=str(artifact("console-record-empty.png")), full_page=True)
        page.click("button[data-action=restore_dns]")
        wait_until(page, f"{ZONE}.includes('127.0.1.')", 5)
        page.wait_for_selector("#events li[data-kind=operator_action] .by", timeout=5_000)
        assert points(page) > before
        page.screenshot(path=str(artifact("console-restored.png")), full_page=True)
        assert refused == [] and problems == [], (refused, problems)
        assert shown_after < 2.0
        page.close()
    finally:
        said = run.stop()
    assert "run directory:" in said, said
    # Ctrl-C left nothing running (the command's whole process group is gone) and the page's port free.
    with pytest.raises(ProcessLookupError):
        os.killpg(run.process.pid, 0)
    port = int(run.url.rsplit(":", 1)[1].strip("/"))
    with socket.socket() as probe:  # as a server binds it: refused only while something listens there
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()
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
    # ... and `compare` sets it beside the scenario's own script.
    compared = CliRunner().invoke(
        app,
        ["compare", str(run.out / "response-vs-script.toml"), "--virtual", "--jobs", "1", "--dir", str(tmp_path / "c")],
    )
    assert compared.exit_code == 0, compared.output
    assert {p.name for p in (tmp_path / "c").iterdir() if p.is_dir()} == {"script", "your-response"}
    assert not (run.out / "INCOMPLETE").exists()
    assert json.loads((run.out / "meta.json").read_text())["interrupted"] is True


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


def second_shown(page: Any) -> int:
    found = re.search(r"second (\d+)", str(page.evaluate("document.getElementById('clock').textContent")))
    return int(found.group(1)) if found else 0


def press_at(page: Any, second: int, *actions: str) -> None:
    """Wait for the page to show `second`, then press each action's button."""
    deadline = time.monotonic() + second + 60
    while second_shown(page) < second:
        assert time.monotonic() < deadline, f"the page never showed second {second}"
        time.sleep(0.2)
    for action in actions:
        page.click(f"button[data-action='{action}']")


@pytest.mark.slow
def test_throttling_dwfm_from_the_page_brings_the_leases_back_as_the_scripted_throttle_does(
    browser: Any, tmp_path: Path
) -> None:
    """cascade-live, its operators at the page: restore DNS at 70 s, throttle and restart DWFM at 110 s, as the
    scenario scripts them. Each press is in events.jsonl with its time and `by = console`, and every lease is back
    within the time the scripted throttle takes in the same scenario (its virtual run, plus slack for real time)."""
    scripted = tmp_path / "scripted"
    result = CliRunner().invoke(
        app, ["run", str(ROOT / "scenarios" / "cascade-live.toml"), "--virtual", "--out", str(scripted)]
    )
    assert result.exit_code == 0, result.output
    (directory,) = scripted.iterdir()
    scripted_events = read_events(directory / "events.jsonl")
    throttled = next(e.t for e in scripted_events if e.data.get("action") == "throttle_dwfm")
    scripted_gap = next(e.t for e in scripted_events if e.kind == "leases_recovered" and e.t > throttled) - throttled

    scenario = scenario_file(on_free_ports(shipped("cascade-live")), tmp_path)
    run = ConsoleRun(scenario, tmp_path / "run")
    try:
        page, refused, problems = open_console(browser, run.url)
        page.wait_for_selector("#events li[data-kind=leases_expiring]", timeout=90_000)
        press_at(page, 70, "restore_dns")
        press_at(page, 110, "throttle_dwfm", "restart_dwfm")
        page.wait_for_selector("#events li[data-kind=leases_recovered]", timeout=45_000)
        page.screenshot(path=str(artifact("console-cascade-live.png")), full_page=True)
        assert refused == [] and problems == [], (refused, problems)
        page.close()
    finally:
        run.stop()
    events = read_events(run.out / "events.jsonl")
    pressed = [(e.data["action"], e.data.get("by"), e.t) for e in events if e.kind == "operator_action"]
    assert [(a, by) for a, by, _ in pressed] == [
        ("restore_dns", "console"),
        ("throttle_dwfm", "console"),
        ("restart_dwfm", "console"),
    ]
    throttle_at = pressed[1][2]
    assert 110 <= throttle_at < 115
    recovered = next(e.t for e in events if e.kind == "leases_recovered" and e.t > throttle_at)
    print(f"leases back {recovered - throttle_at:.1f} s after the page's throttle (scripted: {scripted_gap:.1f} s)")
    assert recovered - throttle_at <= 2 * scripted_gap + 10, (recovered - throttle_at, scripted_gap)
    response = load_scenario(run.out / "response.toml")
    assert [a.kind for a in response.operator] == ["restore_dns", "throttle_dwfm", "restart_dwfm"]
    # Played back in virtual time: the same actions at the same scenario times.
    replayed = tmp_path / "replayed"
    result = CliRunner().invoke(app, ["run", str(run.out / "response.toml"), "--virtual", "--out", str(replayed)])
    assert result.exit_code == 0, result.output
    (again,) = replayed.iterdir()
    played = [(e.data["action"], e.t) for e in read_events(again / "events.jsonl") if e.kind == "operator_action"]
    assert [a for a, _ in played] == [a for a, _, _ in pressed]
    assert all(t == pytest.approx(p[2], abs=0.002) for (_, t), p in zip(played, pressed, strict=True))


def test_a_saved_run_opens_in_the_console_with_a_slider_to_any_second(browser: Any, tmp_path: Path) -> None:
    """`cascadesim console RUN_DIR` on a virtual cascade: the slider reaches the first, a middle and the last
    second; the graph shows each (the record empty while the race holds it, DWFM's leases), drawn in well under a
    second after the move; no request leaves, no console error."""
    scenario = scenario_file(changed(shipped("cascade-live"), duration=90, verdict_cap=90), tmp_path)
    result = CliRunner().invoke(app, ["run", str(scenario), "--virtual", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (directory,) = (tmp_path / "runs").iterdir()
    emptied = next(e.t for e in read_events(directory / "events.jsonl") if e.kind == "record_emptied")
    env = os.environ | {"PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    server = subprocess.Popen(
        [str(CLI), "console", str(directory)], stdout=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert found, line
        page, refused, problems = open_console(browser, found.group(1))
        wait_until(page, "window.__console.shown === 1", 15)
        drawn = {}
        for second in (int(emptied) + 3, 45, 90, 1):
            page.evaluate(
                f"(() => {{ const s = document.getElementById('slider'); s.value = '{second}';"
                " s.dispatchEvent(new Event('input')); })()"
            )
            wait_until(page, f"window.__console.shown === {second}", 5)
            drawn[second] = (
                page.evaluate("window.__console.drawMs"),
                page.evaluate(f"{ZONE}"),
                page.evaluate("document.querySelector('#node-dwfm').textContent"),
            )
        page.screenshot(path=str(artifact("console-saved-run.png")), full_page=True)
        assert refused == [] and problems == [], (refused, problems)
        page.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    assert "no address" in drawn[int(emptied) + 3][1]
    assert "addresses" in drawn[1][1] and "leases" in drawn[1][2]
    assert all(ms < 1000 for ms, _, _ in drawn.values()), drawn
    assert server.returncode == 0
