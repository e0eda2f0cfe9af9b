"""Every KPI has a title, and its value reads with a unit, rounded, never as an exponent or a raw structure."""

from __future__ import annotations

import pytest

from reports.guest_calls import DEFINITIONS as PROGRAM_DEFINITIONS
from reports.kpis import DEFINITIONS
from reports.labels import LABELS, in_order, reading, title_of


def test_every_kpi_has_a_title() -> None:
    """A KPI added to DEFINITIONS without a title and a unit fails here, not in front of a reader."""
    assert set(LABELS) == set(DEFINITIONS) | set(PROGRAM_DEFINITIONS)


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("dns_empty_seconds", 28, "28 s"),
        ("time_to_recover_s", 4.52, "4.52 s"),
        ("time_to_recover_s", 250.0, "4 min 10 s"),
        ("lease_recovery_s", 11_100.0, "3 h 5 min"),
        ("peak_dynamodb_over_baseline", 13.04, "13×"),
        ("retry_amplification", 2561.0, "2561×"),
        ("wasted_share", 0.0432, "4.32 %"),
        ("wasted_share", 0.00001, "< 0.01 %"),
        ("metastable", True, "yes"),
        ("time_to_recover_s", None, "–"),
        ("slo_violation_minutes", {"dynamodb": 2, "lambda": 5}, "dynamodb 2 min, lambda 5 min"),
        ("slo_violation_minutes", {}, "–"),
        (
            "error_windows",
            {"dynamodb": [[15, 52]], "shop": [[16, 20], [30, 41]]},
            "dynamodb 15–52 s; shop 16–20 s, 30–41 s",
        ),
        ("error_windows", {"ec2": []}, "ec2 none"),
        ("time_to_recover_by_kind", {"dynamodb": 12.5, "shop": None}, "dynamodb 12.5 s, shop not back"),
        (
            "episodes",
            [
                {"start": 30, "end": 90, "recovered_after_s": 28.0},
                {"start": 150, "end": 160, "recovered_after_s": None},
            ],
            "30 s to 90 s: back after 28 s; 2 min 30 s to 2 min 40 s: not back",
        ),
    ],
)
def test_a_value_reads_with_its_unit(key: str, value: object, shown: str) -> None:
    """Seconds grow into minutes and hours, ratios get ×, shares %, flags yes/no, per-kind minutes min."""
    assert reading(key, value) == shown


def test_a_key_this_version_does_not_know_is_shown_plainly() -> None:
    """An older or newer kpis.json's unknown KPI keeps its key as its title and its value as a number."""
    assert title_of("queue_p99_s") == "queue_p99_s" and reading("queue_p99_s", 0.12345) == "0.123"


def test_kpis_come_in_the_story_order() -> None:
    """Cards follow LABELS' order whatever order kpis.json holds them in (it is sorted); unknown keys come last."""
    kpis = dict.fromkeys(sorted([*DEFINITIONS, *PROGRAM_DEFINITIONS, "queue_p99_s"]))
    assert [key for key, _ in in_order(kpis)] == [*LABELS, "queue_p99_s"]
