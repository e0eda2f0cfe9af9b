"""`cascadesim run --virtual` and `compare`: the run directory, its KPIs, and byte-identical repeats."""

from __future__ import annotations

import subprocess
from pathlib import Path

from reports.columns import CLIENTS_OK, DNS_REGIONAL_ADDRESSES
from scenarios.config.schema import Scenario, load_scenario
from scenarios.run.execute import RunOptions, execute
from tests.helpers import CLI, changed, read_json, scenario_file, shipped

FILES = ("scenario.toml", "meta.json", "events.jsonl", "timeseries.csv", "outcomes.csv", "kpis.json")


def short_cascade(seconds: float = 45) -> Scenario:
    return changed(shipped("cascade-live"), duration=seconds)


def test_a_virtual_run_leaves_a_complete_run_directory(tmp_path: Path) -> None:
    """Every file of the run directory, one time-series row per simulated second, KPIs with definitions, and a
    scenario.toml that is itself a valid scenario."""
    result = execute(short_cascade(), tmp_path / "run", RunOptions(virtual=True))
    for name in FILES:
        assert (result.directory / name).is_file(), name
    lines = (result.directory / "timeseries.csv").read_text().splitlines()
    assert len(lines) == 1 + 45 and DNS_REGIONAL_ADDRESSES in lines[0] and CLIENTS_OK in lines[0]
    document = read_json(result.directory / "kpis.json")
    assert set(document["kpis"]) == set(document["definitions"])
    assert document["kpis"]["dns_empty_seconds"] > 10
    meta = read_json(result.directory / "meta.json")
    assert meta["mode"] == "virtual" and meta["interrupted"] is False and meta["simulated_seconds"] == 45
    assert load_scenario(result.directory / "scenario.toml") == short_cascade()


def test_the_same_seed_twice_gives_byte_identical_kpis_and_time_series(tmp_path: Path) -> None:
    """Virtual runs are a function of the scenario and its seed."""
    first = execute(short_cascade(30), tmp_path / "a", RunOptions(virtual=True)).directory
    second = execute(short_cascade(30), tmp_path / "b", RunOptions(virtual=True)).directory
    for name in ("kpis.json", "timeseries.csv", "outcomes.csv", "events.jsonl", "meta.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_compare_gives_one_kpi_row_per_policy_and_a_bad_policy_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    """`compare --virtual` over two policy sets writes comparison.json with one entry each; an unknown policy
    set is a one-line error with exit status 2."""
    scenario = scenario_file(short_cascade(30), tmp_path)
    done = subprocess.run(
        [
            str(CLI),
            "compare",
            str(scenario),
            "--virtual",
            "-p",
            "naive",
            "-p",
            "backoff-jitter",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (comparison,) = tmp_path.glob("*/comparison.json")
    runs = read_json(comparison)["runs"]
    assert [r["policy"] for r in runs] == ["naive", "backoff-jitter"]
    assert all((comparison.parent / r["directory"] / "kpis.json").is_file() for r in runs)
    refused = subprocess.run(
        [str(CLI), "compare", str(scenario), "--virtual", "-p", "naive", "-p", "nope", "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "policy = 'nope': no such policy set" in refused.stderr and not (tmp_path / "x").exists()
