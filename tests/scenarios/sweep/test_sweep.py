"""`cascadesim sweep`: axes read and checked like scenario fields, one virtual run per cell, a table of their KPIs."""

from __future__ import annotations

import contextlib
import csv
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.config.axes import Axis, with_values
from scenarios.config.problems import ScenarioError
from scenarios.sweep.grid import Sweep, plan
from scenarios.sweep.threshold import Search
from tests.helpers import CLI, ROOT, eventually, free_port, read_json, reap, shipped

RETRY_STORM = str(ROOT / "scenarios" / "retry-storm.toml")


def test_ranges_include_their_stop_and_lists_keep_their_types() -> None:
    """2:6:2 is 2, 4, 6; 0.5:1.5:0.5 is 0.5, 1.0, 1.5; a list reads numbers, true/false and text as TOML would."""
    assert Axis.parse("faults[0].duration=2:6:2").values == (2, 4, 6)
    assert Axis.parse("faults[0].factor=0.5:1.5:0.5").values == (0.5, 1.0, 1.5)
    assert Axis.parse("x.y=1,2.5,true,naive").values == (1, 2.5, True, "naive")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("faults[0].duration=", "no values after '='"),
        ("faults[0].duration=5:2", "the range is empty"),
        ("faults[0].duration=2:6:0", "the step must be greater than 0"),
        ("faults[0].duration=a:b", "bounds and step must be numbers"),
        ("faults[0]..duration=2", "is not a field path"),
        ("faults[3].duration=2", "no faults[3] (the scenario has 1 entry)"),
        ("faults[0].durashun=2", "faults[0].durashun: unknown key"),
        ("faults[0].duration=soon", "faults[0].duration = 'soon': must be a number"),
        ("dynamodb.routers=0", "dynamodb.routers = 0"),
        ("nosuch.field=1", "the scenario has no nosuch"),
    ],
)
def test_a_bad_axis_is_one_line_that_names_it(text: str, problem: str) -> None:
    """Malformed values, unknown paths and values a field refuses: a ScenarioError that names the axis."""
    base = shipped("retry-storm")
    with pytest.raises(ScenarioError) as caught:
        plan(base, RETRY_STORM, [Axis.parse(text)], ["naive"])
    message = str(caught.value)
    assert message.startswith("--vary ") and problem in message and "\n" not in message


def test_every_cell_is_the_scenario_with_its_values_policy_and_seed() -> None:
    """Policy sets × grid points × repeats, in that order; repeat r runs on the scenario's seed + r."""
    base = shipped("retry-storm")
    axis = Axis.parse("faults[0].duration=4,8")
    cells = plan(base, RETRY_STORM, [axis], ["naive", "backoff-jitter"], repeats=2)
    assert [(c.policy, c.values[0][1], c.seed) for c in cells] == [
        ("naive", 4, 42),
        ("naive", 4, 43),
        ("naive", 8, 42),
        ("naive", 8, 43),
        ("backoff-jitter", 4, 42),
        ("backoff-jitter", 4, 43),
        ("backoff-jitter", 8, 42),
        ("backoff-jitter", 8, 43),
    ]
    assert cells[2].scenario.faults[0].duration == 8 and cells[2].scenario == with_values(
        base, RETRY_STORM, {axis: 8}
    ).model_copy(update={"policy": cells[2].scenario.policy})
    assert len({c.name for c in cells}) == len(cells)


def test_a_sweep_runs_each_cell_and_tabulates_its_kpis(tmp_path: Path) -> None:
    """Two spike lengths on retry-storm, naive: the short spike recovers, the long one stays metastable; each
    cell has its own run directory with a report, and a bad axis on the command line is exit 2 with one line."""
    done = subprocess.run(
        [
            str(CLI),
            "sweep",
            RETRY_STORM,
            "--vary",
            "faults[0].duration=3,10",
            "--vary",
            "duration=130",
            "-p",
            "naive",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (table,) = tmp_path.glob("*/sweep.csv")
    rows = list(csv.DictReader(table.read_text().splitlines()))
    assert [(r["faults[0].duration"], r["metastable"]) for r in rows] == [("3", "False"), ("10", "True")]
    assert all((table.parent / r["directory"] / "report.html").is_file() for r in rows)
    cells = read_json(table.parent / "sweep.json")["cells"]
    assert [c["values"] for c in cells] == [
        {"faults[0].duration": 3, "duration": 130},
        {"faults[0].duration": 10, "duration": 130},
    ]
    refused = subprocess.run(
        [str(CLI), "sweep", RETRY_STORM, "--vary", "faults[2].duration=1:3", "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "--vary faults[2].duration=1:3: no faults[2]" in refused.stderr and not (tmp_path / "x").exists()


def test_an_interrupted_sweep_run_again_into_its_directory_skips_the_cells_it_finished(tmp_path: Path) -> None:
    """Ctrl-C once the first cell is done: exit 130; the same sweep into the same --dir runs only the rest, says how
    many it skipped, and its table has every cell."""
    into = tmp_path / "sweep"
    command = [
        str(CLI),
        "sweep",
        RETRY_STORM,
        "--vary",
        "faults[0].duration=3:6",
        "--vary",
        "duration=120",
        "-p",
        "naive",
        "--jobs",
        "1",
        "--dir",
        str(into),
    ]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert eventually(lambda: any(into.glob("*/sweep-cell.json")), timeout=120)
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=120) == 130
    finally:
        reap(first)
    finished = len(list(into.glob("*/sweep-cell.json")))
    assert 1 <= finished < 4
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{finished} of 4 cells already done" in again.stdout
    rows = list(csv.DictReader((into / "sweep.csv").read_text().splitlines()))
    assert [r["faults[0].duration"] for r in rows] == ["3", "4", "5", "6"] and all(not r["error"] for r in rows)


def test_the_shipped_sweep_file_plans_the_retry_storm_map_and_a_broken_one_says_where(tmp_path: Path) -> None:
    """scenarios/sweeps/retry-storm-map.toml: spike lengths 2..12 s × four policy sets, 44 cells; a sweep file with an
    unknown key or no axis is one line naming the file and the field."""
    planned = Sweep.from_arguments(ROOT / "scenarios" / "sweeps" / "retry-storm-map.toml", [], [], None)
    assert planned.base.name == "retry-storm" and len(planned.cells) == 44
    assert planned.policies == ("naive", "backoff-jitter", "aws-sdk-standard", "adaptive-concurrency")
    assert planned.axes[0].values == tuple(range(2, 13))
    broken = tmp_path / "broken.toml"
    broken.write_text('scenario = "x.toml"\nvary = ["faults[0].duration=1:2"]\nrepeat = 2\n')
    with pytest.raises(ScenarioError, match=r"broken.toml: repeat: unknown key"):
        Sweep.from_arguments(broken, [], [], None)
    broken.write_text('scenario = "x.toml"\nvary = []\n')
    with pytest.raises(ScenarioError, match=r"broken.toml: vary"):
        Sweep.from_arguments(broken, [], [], None)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("faults[0].duration", "expected PATH=LOW:HIGH"),
        ("faults[0].duration=5:2", "the range is empty"),
        ("faults[0].duration=1:5:0", "the resolution must be greater than 0"),
        ("faults[0].duration=a:5", "must be numbers"),
    ],
)
def test_a_bad_threshold_search_is_one_line_that_names_it(text: str, problem: str) -> None:
    """A malformed --find-threshold: a ScenarioError that names it."""
    with pytest.raises(ScenarioError, match=re.escape(f"--find-threshold {text}: ") + ".*" + re.escape(problem)):
        Search.parse(text)


def test_a_threshold_search_brackets_where_naive_tips_in_a_few_runs(tmp_path: Path) -> None:
    """Bisecting the spike length 2..12 s at a 2-s resolution: the ends, then midpoints, five runs against the
    grid's six; the bracket holds the grid's answer (recovers at 6 s, stuck from 7 s on: each run goes on past its
    written end until its verdict is decided), and sweep.json lists every run and the threshold."""
    done = subprocess.run(
        [
            str(CLI),
            "sweep",
            RETRY_STORM,
            "--find-threshold",
            "faults[0].duration=2:12:2",
            "-p",
            "naive",
            "--dir",
            str(tmp_path / "search"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = read_json(tmp_path / "search" / "sweep.json")
    (found,) = summary["thresholds"]
    assert found["policy"] == "naive" and found["runs"] == len(summary["cells"]) <= 5
    assert found["recovers_at"] <= 6 < 7 <= found["tips_at"] and found["tips_at"] - found["recovers_at"] <= 2
    assert "naive: tips between" in " ".join(done.stdout.split())
    assert (tmp_path / "search" / "map.html").is_file()


@pytest.mark.live  # a scheduler and two workers on TCP
def test_a_sweep_on_a_dask_cluster_gives_the_same_sweep_json_as_a_local_one(tmp_path: Path) -> None:
    """A real `dask scheduler` and two `dask worker` processes on loopback: the same sweep gives a sweep.json
    identical to the local run's, cell for cell; every process is stopped afterwards."""
    pytest.importorskip("distributed")
    dask = Path(CLI).with_name("dask")
    port = free_port("127.0.0.1")
    address = f"tcp://127.0.0.1:{port}"
    started = [
        subprocess.Popen(
            [str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    ]
    try:
        for _ in range(2):
            started.append(
                subprocess.Popen(
                    [str(dask), "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        from distributed import Client

        with Client(address, timeout=60) as client:  # type: ignore[no-untyped-call]  # as scenarios/sweep/cluster.py
            client.wait_for_workers(2, timeout=60)
        sweep = [str(CLI), "sweep", RETRY_STORM, "--vary", "faults[0].duration=3,10", "--vary", "duration=130"]
        sweep += ["-p", "naive", "-p", "adaptive-concurrency"]
        local = subprocess.run([*sweep, "--dir", str(tmp_path / "local")], capture_output=True, text=True, timeout=300)
        assert local.returncode == 0, local.stderr
        remote = subprocess.run(
            [*sweep, "--dir", str(tmp_path / "dask"), "--scheduler", address],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert remote.returncode == 0, remote.stderr
        here, there = (tmp_path / d / "sweep.json" for d in ("local", "dask"))
        assert here.read_text() == there.read_text()
        assert len(read_json(there)["cells"]) == 4
        assert all((tmp_path / "dask" / c["directory"] / "report.html").is_file() for c in read_json(there)["cells"])
    finally:  # each in its own session: its whole group goes (a worker's nanny has a child process)
        for process in reversed(started):
            for signum in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signum)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
            reap(process)


def test_a_scheduler_without_dask_installed_is_one_line_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--scheduler needs the `cluster` extra; without Dask the error says which extra to install."""
    from rich.console import Console

    from scenarios.sweep.cluster import run_on_dask

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now fails, as when not installed
    with pytest.raises(ScenarioError, match=r"--scheduler tcp://127.0.0.1:1: Dask is not installed.*\[cluster\]"):
        run_on_dask([], tmp_path, "tcp://127.0.0.1:1", Console(), lambda i, d, e: None)
