"""report.html from a run directory alone: names shown as text, never run; an interrupted run says so."""

from __future__ import annotations

import json
from pathlib import Path

from markupsafe import escape

from reports.comparison import render_comparison
from reports.render import render_run
from services.event_kinds import EventKind, FaultKind
from services.events import Event

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def write_run(directory: Path, *, interrupted: bool) -> None:
    directory.mkdir()
    meta = {
        "scenario": "s",
        "description": HOSTILE,
        "policy": HOSTILE,
        "mode": "virtual",
        "seed": 1,
        "duration": 60,
        "simulated_seconds": 12,
        "interrupted": interrupted,
        "problems": [HOSTILE],
    }
    (directory / "meta.json").write_text(json.dumps(meta))
    (directory / "kpis.json").write_text(json.dumps({"kpis": {"dns_empty_seconds": 7}, "definitions": {}}))
    event = Event(3.0, EventKind.FAULT_START, "faults", HOSTILE, {"fault": FaultKind.LOAD_SPIKE})
    (directory / "events.jsonl").write_text(event.to_json() + "\n")


def test_names_and_messages_with_markup_are_shown_as_text(tmp_path: Path) -> None:
    """A description, policy, problem or event message full of HTML comes out escaped, never as a tag."""
    write_run(tmp_path / "run", interrupted=False)
    page = render_run(tmp_path / "run").read_text()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert page.count("&lt;script&gt;alert(") >= 4
    assert "Interrupted." not in page


def test_an_interrupted_run_says_so_and_shows_what_was_gathered(tmp_path: Path) -> None:
    """meta.json's interrupted flag puts a banner with the simulated seconds gathered at the top."""
    write_run(tmp_path / "run", interrupted=True)
    page = render_run(tmp_path / "run").read_text()
    assert "Interrupted." in page and "12 simulated seconds" in page and ">7 s<" in page


def card(page: str, key: str) -> str:
    """The HTML of one KPI card."""
    start = page.index(f'<div class="card" id="kpi-{key}">')
    return page[start : page.index('<details class="what">', start)]


def test_a_kpi_card_leads_with_its_title_and_a_value_with_its_unit(tmp_path: Path) -> None:
    """Each card reads title, then value with its unit (s, ×, %, yes/no); the raw key only follows in small print."""
    write_run(tmp_path / "run", interrupted=False)
    kpis = {
        "time_to_recover_s": 28.0,
        "peak_dynamodb_over_baseline": 13.04,
        "wasted_share": 0.0432,
        "metastable": False,
    }
    (tmp_path / "run" / "kpis.json").write_text(json.dumps({"kpis": kpis, "definitions": {}}))
    page = render_run(tmp_path / "run").read_text()
    shown = {key: card(page, key) for key in kpis}
    for key, title, value in (
        ("time_to_recover_s", "Time to recover", "28 s"),
        ("peak_dynamodb_over_baseline", "DynamoDB herd peak", "13×"),
        ("wasted_share", "Wasted work", "4.32 %"),
        ("metastable", "Metastable", "no"),
    ):
        assert shown[key].index(f">{title}<") < shown[key].index(f">{value}<") < shown[key].index(f">{key}<")


def test_a_services_internal_errors_are_listed_with_the_events(tmp_path: Path) -> None:
    """A router's internal_error and internal_errors_counted events appear in the report's events table."""
    write_run(tmp_path / "run", interrupted=False)
    bug = Event(4.5, EventKind.INTERNAL_ERROR, "router-2", "KeyError: 'pk'", {"count": 1, "traceback": "Traceback ..."})
    counted = Event(9.0, EventKind.INTERNAL_ERRORS_COUNTED, "router-2", "100 internal errors so far", {"count": 100})
    with (tmp_path / "run" / "events.jsonl").open("a") as stream:
        stream.write(bug.to_json() + "\n" + counted.to_json() + "\n")
    page = render_run(tmp_path / "run").read_text()
    for event in (bug, counted):
        row = f'<td class="kind">{event.kind}</td><td>{event.source}</td><td>{escape(event.message)}</td>'
        assert row in page, event.kind


def write_comparison(root: Path, *, interrupted: bool) -> None:
    root.mkdir()
    runs: list[dict[str, object]] = []
    for policy, recovery in (("naive", None), (HOSTILE, 12.0)):
        directory = root / f"run-{len(runs)}"
        write_run(directory, interrupted=interrupted)
        runs.append({"policy": policy, "directory": directory.name, "kpis": {"time_to_recover_s": recovery}})
    summary = {"scenario": "s", "mode": "virtual", "runs": runs, "definitions": {}}
    (root / "comparison.json").write_text(json.dumps(summary))


def test_a_comparison_marks_the_best_and_shows_a_hostile_policy_name_as_text(tmp_path: Path) -> None:
    """The run that recovered is marked best, its value with a unit under the KPI's title; a hostile name is escaped."""
    write_comparison(tmp_path / "cmp", interrupted=False)
    page = render_comparison(tmp_path / "cmp").read_text()
    assert page.count("★") == 2  # the explanation and the one best cell
    assert ">Time to recover<" in page and ">12 s ★<" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Interrupted." not in page


def test_an_interrupted_comparison_says_so_and_marks_no_best(tmp_path: Path) -> None:
    """Runs that stopped early did not cover the same time: the page says so and ranks nothing."""
    write_comparison(tmp_path / "cmp", interrupted=True)
    page = render_comparison(tmp_path / "cmp").read_text()
    assert "Interrupted." in page and "No best value is marked" in page and "★" not in page
