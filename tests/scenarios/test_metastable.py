"""metastable-threshold.toml under the naive policy: the shorter spike is absorbed, the longer one is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.columns import DYNAMODB_COMPLETED, DYNAMODB_WASTED
from reports.render import run_rows
from scenarios.run.execute import RunOptions, execute
from tests.helpers import shipped

pytestmark = pytest.mark.slow


def test_recovery_below_the_threshold_and_a_metastable_state_above_it(tmp_path: Path) -> None:
    """Episode one (4-s spike) recovers within seconds; episode two (8-s spike) never does, and while it lasts
    most of DynamoDB's work is wasted on requests their clients have given up on."""
    result = execute(shipped("metastable-threshold"), tmp_path / "run", RunOptions(virtual=True))
    below, above = result.kpis["episodes"]
    assert (below["start"], below["end"], above["start"], above["end"]) == (60, 64, 200, 208)
    assert below["recovered_after_s"] is not None and below["recovered_after_s"] < 30
    assert above["recovered_after_s"] is None and result.kpis["metastable"] is True
    tail = run_rows(result.directory)[-60:]
    wasted = sum(float(r[DYNAMODB_WASTED]) for r in tail) / sum(float(r[DYNAMODB_COMPLETED]) for r in tail)
    assert wasted > 0.3
