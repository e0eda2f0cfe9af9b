"""The program's series in a report: every node it called, the declared services' too."""

from __future__ import annotations

from typing import Any

from reports.guest_calls import program_chart, program_kpis


def test_a_declared_services_answers_count_even_when_its_columns_start_mid_run() -> None:
    """STS behind an NLB: its targets start after the first second, so its columns appear later; the program's
    attempts there count, by outcome, beside DynamoDB's and its failed lookups."""
    rows: list[dict[str, Any]] = [
        {"second": 0, "app_dynamodb_ok": 1, "app_lookups_answered": 1, "app_lookups_no_address": 0},
        {"second": 1, "app_dynamodb_ok": 1, "app_lookups_answered": 2, "app_lookups_no_address": 0, "app_sts_ok": 1},
        {
            "second": 2,
            "app_dynamodb_ok": 0,
            "app_lookups_answered": 1,
            "app_lookups_no_address": 1,
            "app_sts_server_error": 2,
        },
    ]
    kpis = program_kpis(rows)
    assert kpis["program_attempts"] == 1 + 1 + 1 + 1 + 2  # DynamoDB 2, STS 3, one lookup with no address
    assert kpis["program_failed_attempts"] == 3
    chart = program_chart(rows, [])
    assert chart is not None
    by_name = {trace["name"]: trace["y"] for trace in chart["data"]}
    assert by_name["server_error"] == [0.0, 0.0, 2.0] and by_name["ok"] == [1.0, 2.0, 0.0]
