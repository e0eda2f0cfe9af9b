"""`--out` where nothing can be written: a read-only filesystem (one line, exit 1, nothing started) and one that
fills up during the run (it stops, says so in one line, exit 1, and what it wrote is marked INCOMPLETE). Both on a
tmpfs of their own, which needs root: skipped elsewhere."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import CLI

RETRY_STORM = str(Path(__file__).resolve().parents[3] / "scenarios" / "retry-storm.toml")


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[dict[str, Path]]:
    points = {"read-only": tmp_path / "ro", "full": tmp_path / "small"}
    options = {"read-only": "ro,size=1m", "full": "size=64k"}
    done: list[Path] = []
    try:
        for name, point in points.items():
            point.mkdir()
            made = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", options[name], "tmpfs", str(point)], capture_output=True
            )
            if made.returncode != 0:
                pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
            done.append(point)
        yield points
    finally:
        for point in done:
            subprocess.run(["umount", str(point)], check=False)


def cascadesim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=120)


def test_a_read_only_out_is_one_line_and_starts_nothing(mounted: dict[str, Path]) -> None:
    done = cascadesim("run", RETRY_STORM, "--virtual", "--out", str(mounted["read-only"] / "runs"))
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot write the run directory {mounted['read-only']}/runs/retry-storm-naive-")
    assert line.endswith("Read-only file system")


def test_a_disk_that_fills_up_stops_the_run_which_says_so_and_marks_what_it_wrote(mounted: dict[str, Path]) -> None:
    out = mounted["full"] / "runs"
    done = cascadesim("run", RETRY_STORM, "--virtual", "--out", str(out))
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: could not write ") and "No space left on device" in line and "INCOMPLETE" in line
    [run] = out.iterdir()
    assert (run / "INCOMPLETE").exists() and (run / "scenario.toml").exists()
    assert not (run / "report.html").exists()
    assert "(no report)" in done.stdout
