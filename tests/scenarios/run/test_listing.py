"""Terminal tables never cut a name, a policy set or a KPI title: too narrow for columns, they stack instead."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console, RenderableType

from reports.labels import title_of
from scenarios.cli import reading
from scenarios.config.policies import POLICY_DIR, load_policy_set
from scenarios.config.schema import load_scenario
from scenarios.run.console import TERMINAL_KPIS, kpi_table
from scenarios.run.listing import Field, Listing

WIDTHS = (50, 60, 80, 100, 160)
LONG = ("naive", "grpc-retry-throttling", "adaptive-concurrency", "aws-sdk-standard", "queue-admission")


def printed(renderable: RenderableType, width: int) -> str:
    buffer = io.StringIO()
    Console(width=width, file=buffer, color_system=None).print(renderable)
    return buffer.getvalue()


def cli_output(monkeypatch: pytest.MonkeyPatch, width: int, command: Any) -> str:
    """What a `cascadesim` command prints on a terminal `width` columns wide."""
    buffer = io.StringIO()
    monkeypatch.setattr(reading, "console", Console(width=width, file=buffer, color_system=None))
    command()
    return buffer.getvalue()


@pytest.mark.parametrize("width", WIDTHS)
def test_policies_shows_every_policy_set_whole(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    """`cascadesim policies`: each policy set's full name on one line at any width, never an ellipsis."""
    out = cli_output(monkeypatch, width, reading.policies)
    assert "…" not in out
    assert all(load_policy_set(path).name in out for path in POLICY_DIR.glob("*.toml"))


@pytest.mark.parametrize("width", WIDTHS)
def test_scenarios_shows_every_file_and_policy_whole(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    """`cascadesim scenarios`: each file's path and its policy set whole at any width, never an ellipsis."""
    out = cli_output(monkeypatch, width, reading.scenarios)
    assert "…" not in out
    for path in sorted(POLICY_DIR.parent.glob("*.toml")):
        assert f"scenarios/{path.name}" in out and f"{load_scenario(path).policy} " in out


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("count", [1, 2, len(LONG)])
def test_the_kpi_table_shows_every_title_and_policy_set_whole(width: int, count: int) -> None:
    """After run or compare: every KPI title and policy set name whole and every value with its unit."""
    kpis = {"time_to_recover_s": 28.0, "wasted_share": 0.43, "slo_violation_minutes": {"dynamodb": 2, "lambda": 5}}
    out = printed(kpi_table([(name, kpis) for name in LONG[:count]], title="retry-storm: policies compared"), width)
    assert "…" not in out and "retry-storm: policies compared" in out
    assert all(title_of(key) in out for key in TERMINAL_KPIS)
    assert all(name in out for name in LONG[:count])
    assert "28 s" in out and "43 %" in out and "dynamodb 2 min," in out


def test_a_listing_is_columns_when_they_fit_and_blocks_when_not() -> None:
    """Wide: a header row and one line per row; narrow: the name alone on a line, then `header: value` lines."""
    listing = Listing("policy sets", [Field("name", "name"), Field("server"), Field("description", "text")])
    listing.add_row(
        "adaptive-concurrency", "gradient", "Each server node limits concurrency with the gradient limiter."
    )
    wide = printed(listing, 120).splitlines()
    assert any("name" in line and "server" in line and "description" in line for line in wide)
    assert any("adaptive-concurrency" in line and "gradient" in line for line in wide)
    narrow = printed(listing, 40)
    assert "server: gradient" in narrow and "description: Each server" in narrow
    assert "…" not in narrow and "adaptive-concurrency" in narrow
