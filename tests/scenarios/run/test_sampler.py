"""timeseries.csv as the sampler's rows are written."""

from __future__ import annotations

import csv
from pathlib import Path

from scenarios.run.sampler import write_csv


def test_columns_that_appear_later_are_kept_and_count_zero_before(tmp_path: Path) -> None:
    """A node that starts late (an NLB's targets) adds columns mid-run: every column is written, in the order
    they first appear, and the rows before it count 0 there (a replay under `exec` once lost its report here)."""
    rows: list[dict[str, float | int]] = [
        {"second": 0, "a": 1},
        {"second": 1, "a": 2, "app_sts_ok": 3},
        {"second": 2, "app_sts_ok": 4, "a": 5},
    ]
    path = tmp_path / "timeseries.csv"
    write_csv(rows, path)
    with path.open() as f:
        read = list(csv.DictReader(f))
    assert list(read[0]) == ["second", "a", "app_sts_ok"]
    assert [(r["a"], r["app_sts_ok"]) for r in read] == [("1", "0"), ("2", "3"), ("5", "4")]
