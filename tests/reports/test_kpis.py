"""The KPIs from a time series and events alone: DNS outage, recovery, metastability, herd, amplification."""

from __future__ import annotations

from reports import columns
from reports.kpis import DEFINITIONS, compute
from services.event_kinds import EventKind, FaultKind
from services.events import Event


def series(goodput: list[int], *, empty: range, arrivals: dict[int, int] | None = None) -> list[dict[str, float | int]]:
    rows: list[dict[str, float | int]] = []
    for i, ok in enumerate(goodput):
        second = i + 1
        rows.append(
            {
                columns.SECOND: second,
                columns.DNS_REGIONAL_ADDRESSES: 0 if second in empty else 3,
                columns.DYNAMODB_ARRIVALS: (arrivals or {}).get(second, 10),
                columns.DYNAMODB_COMPLETED: 10,
                columns.DYNAMODB_WASTED: 1,
                columns.CLIENTS_LOGICAL: 10,
                columns.CLIENTS_ATTEMPTS: 20 if second in empty else 10,
                columns.CLIENTS_OK: ok,
                columns.clients_of("dynamodb", columns.LOGICAL): 10,
                columns.clients_of("dynamodb", columns.OK): ok,
            }
        )
    return rows


def test_a_run_that_recovers_after_dns_returns() -> None:
    """DNS empty for seconds 30-59: 30 s empty; goodput back at 65 and held: recovery 6 s after the trigger
    ended at 59, not metastable; the herd at 61 is 5x the baseline arrivals; one SLO-bad minute."""
    goodput = [10] * 29 + [0] * 35 + [10] * 100
    rows = series(goodput, empty=range(30, 60), arrivals={61: 50})
    kpis = compute(rows, [])
    assert set(kpis) == set(DEFINITIONS)
    assert kpis["dns_empty_seconds"] == 30
    assert kpis["trigger_end"] == 59
    assert kpis["metastable"] is False
    assert kpis["time_to_recover_s"] is not None and 5 <= kpis["time_to_recover_s"] <= 15
    assert kpis["peak_dynamodb_over_baseline"] == 5.0
    assert kpis["wasted_share"] == 0.1
    assert kpis["retry_amplification_during_fault"] == 2.0
    assert kpis["slo_violation_minutes"] == {"dynamodb": 2}


def test_a_run_that_stays_down_after_the_trigger_is_metastable() -> None:
    """DNS comes back at 60 but goodput stays at 30 % to the horizon: metastable, no recovery time."""
    goodput = [10] * 29 + [0] * 31 + [3] * 120
    kpis = compute(series(goodput, empty=range(30, 60)), [])
    assert kpis["metastable"] is True and kpis["time_to_recover_s"] is None


def test_recovery_must_hold_for_a_minute() -> None:
    """Goodput that comes back for 30 s and falls again does not count as recovered."""
    goodput = [10] * 29 + [0] * 31 + [10] * 30 + [2] * 30 + [10] * 70
    kpis = compute(series(goodput, empty=range(30, 60)), [])
    assert kpis["time_to_recover_s"] is not None and kpis["time_to_recover_s"] > 60


def test_an_enactor_delay_alone_does_not_end_the_baseline() -> None:
    """The pre-fault level is measured up to the first harm, not up to a harmless Enactor delay."""
    events = [Event(5.0, EventKind.FAULT_START, "faults", "Enactor A slowed", {"fault": FaultKind.ENACTOR_DELAY})]
    goodput = [10] * 29 + [0] * 31 + [10] * 100
    kpis = compute(series(goodput, empty=range(30, 60), arrivals={62: 30}), events)
    assert kpis["trigger_start"] == 5.0 and kpis["peak_dynamodb_over_baseline"] == 3.0


def test_no_rows_gives_no_figures() -> None:
    """An interrupted run that sampled nothing still has every KPI, as None."""
    kpis = compute([], [])
    assert set(kpis) == set(DEFINITIONS)
    assert all(value is None for key, value in kpis.items() if key != "why_empty")
    assert kpis["why_empty"] == dict.fromkeys(set(DEFINITIONS) - {"why_empty"}, "no time series was gathered")


def test_each_kind_has_its_error_windows_and_its_recovery() -> None:
    """A kind's seconds under half success make its error windows (seconds 30-64 here: the rows for 30-64 cover
    29 to 64), two short lapses 5 s apart are one window, a lapse of 2 s is left out; each kind gets its own
    recovery time, the run's being the latest."""
    goodput = [10] * 29 + [0] * 35 + [10] * 100
    rows = series(goodput, empty=range(30, 60))
    shop = [10] * 150 + [0, 0] + [10] * 12
    for row, ok in zip(rows, shop, strict=True):
        row[columns.clients_of("shop", columns.LOGICAL)] = 10
        row[columns.clients_of("shop", columns.OK)] = ok
    kinds_dip = {20: 4, 21: 4, 22: 4, 27: 4, 28: 4}
    for second, ok in kinds_dip.items():
        rows[second - 1][columns.clients_of("shop", columns.OK)] = ok
    kpis = compute(rows, [])
    assert kpis["error_windows"] == {"dynamodb": [[29, 64]], "shop": [[19, 28]]}
    assert kpis["time_to_recover_by_kind"]["dynamodb"] == kpis["time_to_recover_s"]
    assert kpis["time_to_recover_by_kind"]["shop"] is not None


def test_a_declared_services_operations_have_error_windows_of_their_own() -> None:
    """From the service's answers per operation: Query fails in 30-60, ModifyCluster in 30-100; the timeline draws
    both (at the bottom here: no client kind has errors), since the service has two operations."""
    from reports.timeline import timeline

    rows = series([10] * 164, empty=range(0))
    for row in rows:
        second = int(row[columns.SECOND])
        query_down, modify_down = 30 < second <= 60, 30 < second <= 100
        row[columns.operation_column("redshift", "Query", "ok")] = 0 if query_down else 5
        row[columns.operation_column("redshift", "Query", "failed")] = 5 if query_down else 0
        row[columns.operation_column("redshift", "ModifyCluster", "ok")] = 0 if modify_down else 2
        row[columns.operation_column("redshift", "ModifyCluster", "failed")] = 2 if modify_down else 0
    kpis = compute(rows, [])
    assert kpis["operation_error_windows"] == {"redshift ModifyCluster": [[30, 100]], "redshift Query": [[30, 60]]}
    lanes = timeline(rows, [])["layout"]["yaxis"]["categoryarray"]
    assert lanes[:2] == ["redshift ModifyCluster errors", "redshift Query errors"]


def test_error_windows_join_gaps_in_proportion_to_the_run() -> None:
    """In a run of 20,000 s a 60-s lull inside an outage does not cut its window (joined within 0.5 % of the run,
    100 s), and a 30-s blip is left out (under 0.2 % of the run, 40 s)."""
    ok = [10] * 20_000
    for second in [*range(5_000, 8_000), *range(8_060, 9_000), *range(15_000, 15_030)]:
        ok[second] = 0
    kpis = compute(series(ok, empty=range(0)), [])
    assert kpis["error_windows"]["dynamodb"] == [[5_000, 9_000]]


def test_saturated_seconds_count_the_seconds_a_live_process_was_at_the_machines_limit() -> None:
    """A second with a Locust process at 90 % of a core, or with the cloud's loop 100 ms late two seconds running,
    is saturated (a lone late second is not); the timeline draws those seconds as grey bands on every chart; a run
    without the columns (virtual) has None."""
    from reports.timeline import SATURATED_COLOUR, shapes

    rows = series([10] * 10, empty=range(0))
    assert compute(rows, [])["saturated_seconds"] is None
    for row in rows:
        row.update(dict.fromkeys(sum(columns.HARNESS, ()), 0.0))
    rows[1][columns.HARNESS_CLOUD_LAG_MS] = 100.0
    rows[2][columns.HARNESS_LOCUST_LAG_MS] = 250.0
    rows[4][columns.HARNESS_CLOUD_LAG_MS] = 300.0  # alone: a pause, not a limit
    rows[5][columns.HARNESS_CLOUD_LAG_MS] = 99.0
    rows[7][columns.HARNESS_LOCUST_CPU] = 0.95
    rows[8][columns.HARNESS_CLOUD_CPU] = 0.9
    assert compute(rows, [])["saturated_seconds"] == 4
    bands = [(s["x0"], s["x1"]) for s in shapes(rows, []) if s.get("fillcolor") == SATURATED_COLOUR]
    assert bands == [(1.0, 3.0), (7.0, 9.0)]
