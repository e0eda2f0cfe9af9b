"""The charts' data: long runs are bucketed without hiding an outage, the timeline pairs faults, the best is marked."""

from __future__ import annotations

from reports.charts import MAX_POINTS, run_charts, series
from reports.columns import DNS_REGIONAL_ADDRESSES, DYNAMODB_ARRIVALS, SECOND
from reports.comparison import ComparedRun, best
from reports.timeline import dns_empty_windows, fault_windows, text
from services.event_kinds import EventKind, FaultKind
from services.events import Event


def rows_of(seconds: int, **overrides: dict[int, int]) -> list[dict[str, float | int]]:
    rows: list[dict[str, float | int]] = []
    for s in range(1, seconds + 1):
        row: dict[str, float | int] = {SECOND: s, DNS_REGIONAL_ADDRESSES: 3, DYNAMODB_ARRIVALS: 10}
        for column, values in overrides.items():
            if s in values:
                row[column] = values[s]
        rows.append(row)
    return rows


def test_a_long_run_is_bucketed_and_one_empty_second_still_shows() -> None:
    """50,600 rows become at most MAX_POINTS points; a level keeps its minimum, a rate its mean."""
    rows = rows_of(50_600, **{DNS_REGIONAL_ADDRESSES: {31_337: 0}, DYNAMODB_ARRIVALS: {31_337: 40}})
    x, values = series(rows, [DNS_REGIONAL_ADDRESSES, DYNAMODB_ARRIVALS])
    assert len(x) <= MAX_POINTS and x[0] == 1
    assert min(values[DNS_REGIONAL_ADDRESSES]) == 0
    size = x[1] - x[0]
    assert max(values[DYNAMODB_ARRIVALS]) == round(10 + 30 / size, 3)


def test_a_short_run_keeps_every_second() -> None:
    """Under MAX_POINTS rows, the series are the rows themselves."""
    x, values = series(rows_of(90), [DYNAMODB_ARRIVALS])
    assert x == list(range(1, 91)) and values[DYNAMODB_ARRIVALS] == [10.0] * 90


def test_fault_windows_pair_starts_with_ends_and_an_open_one_runs_to_the_end() -> None:
    """Each fault_start meets the next fault_end of the same fault; one never ended lasts until the run's end."""
    events = [
        Event(5.0, EventKind.FAULT_START, "faults", "churn", {"fault": FaultKind.PLANNER_CHURN}),
        Event(6.0, EventKind.FAULT_START, "faults", "slow A", {"fault": FaultKind.ENACTOR_DELAY}),
        Event(26.0, EventKind.FAULT_END, "faults", "A normal", {"fault": FaultKind.ENACTOR_DELAY}),
        Event(40.0, EventKind.FAULT_START, "faults", "spike", {"fault": FaultKind.LOAD_SPIKE}),
        Event(45.0, EventKind.FAULT_END, "faults", "spike over", {"fault": FaultKind.LOAD_SPIKE}),
    ]
    assert fault_windows(events, end=100.0) == [(5.0, 100.0, "churn"), (6.0, 26.0, "slow A"), (40.0, 45.0, "spike")]


def test_dns_empty_windows_cover_the_seconds_with_no_address() -> None:
    """Row N covers second N-1 to N: rows 10-12 empty make one window from 9 to 12; a trailing one runs to the end."""
    rows = rows_of(20, **{DNS_REGIONAL_ADDRESSES: {10: 0, 11: 0, 12: 0, 19: 0, 20: 0}})
    assert dns_empty_windows(rows) == [(9.0, 12.0), (18.0, 20.0)]


def run(policy: str, **kpis: object) -> ComparedRun:
    return ComparedRun(policy, policy, kpis, [], [])


def test_the_best_value_of_each_column_is_marked_and_a_missing_one_is_the_worst() -> None:
    """Lower wins; never recovering (None) loses; "not metastable" wins; equal columns mark nobody."""
    runs = [
        run("a", time_to_recover_s=None, metastable=True, retry_amplification=2.5, dns_empty_seconds=30),
        run("b", time_to_recover_s=40.0, metastable=False, retry_amplification=1.2, dns_empty_seconds=30),
        run("c", time_to_recover_s=12.0, metastable=False, retry_amplification=1.2, dns_empty_seconds=30),
    ]
    marked = best(runs)
    assert marked["time_to_recover_s"] == {2}
    assert marked["metastable"] == {1, 2}
    assert marked["retry_amplification"] == {1, 2}
    assert marked["dns_empty_seconds"] == set()


def test_names_reach_plotly_escaped_and_a_run_without_clients_has_no_client_chart() -> None:
    """Plotly reads a few tags in labels, so names go in escaped; charts appear only for the data a run has."""
    assert text('<b onclick="x">&</b>') == '&lt;b onclick="x"&gt;&amp;&lt;/b&gt;'
    ids = [chart["id"] for chart in run_charts(rows_of(30), [])]
    assert ids == ["timeline", "dns", "service-dynamodb"]
