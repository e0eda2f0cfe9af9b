"""The verdict (reports/verdict.py) from a time series alone: recovered, stuck, undecided, and why a KPI is empty."""

from __future__ import annotations

from reports.kpis import compute
from reports.verdict import MIN_HORIZON, Horizon
from services.event_kinds import EventKind
from services.events import Event
from tests.reports.test_kpis import series

DNS_OUT = range(30, 60)  # DNS empty for seconds 30-59: the trigger ends at 59


def test_a_late_recovery_is_recovered_not_stuck() -> None:
    """Back at 150 (91 s after the trigger), held: recovered after 91 s, decided once the hold is done."""
    kpis = compute(series([10] * 29 + [0] * 120 + [10] * 100, empty=DNS_OUT), [])
    assert kpis["verdict"] == "recovered" and kpis["metastable"] is False
    assert kpis["time_to_recover_s"] == 91.0 + 9  # the 10-s window is back at 95 % nine seconds after the rows are
    assert kpis["decided_at_s"] == 150 + 9 + 59


def test_a_flat_degraded_state_is_stuck_after_the_horizon_and_says_why() -> None:
    """At 30 % with nothing improving: stuck exactly one horizon after the trigger's end, with the loop measured."""
    kpis = compute(series([10] * 29 + [3] * 400, empty=DNS_OUT), [])
    assert kpis["verdict"] == "stuck" and kpis["metastable"] is True
    assert kpis["decided_at_s"] == 59 + MIN_HORIZON
    assert kpis["time_to_recover_s"] is None and kpis["why_empty"]["time_to_recover_s"] == "stuck: it did not come back"
    assert kpis["sustaining_effect"]["window"] == [59 + MIN_HORIZON / 2, 59 + MIN_HORIZON]
    assert "Stuck (metastable)" in kpis["verdict_sentence"] and "30%" in kpis["verdict_sentence"]


def test_a_slow_steady_climb_is_not_stuck_and_recovers() -> None:
    """From 0 to full over 150 s: still degraded one horizon (120 s) after the trigger, but on its way back at a
    pace that gets it there within another horizon, so not stuck; then recovered."""
    climb = [min(10, i // 15) for i in range(330)]
    kpis = compute(series([10] * 29 + climb + [10] * 100, empty=DNS_OUT), [])
    assert kpis["verdict"] == "recovered"


def test_the_horizon_is_ten_of_the_longest_time_constant_at_least_the_minimum() -> None:
    assert Horizon((("the DNS TTL", 5.0),)).seconds == MIN_HORIZON
    long = Horizon((("the DNS TTL", 5.0), ("the backoff cap", 20.0)))
    assert long.seconds == 200 and long.basis() == "10 × the backoff cap (20 s)"


def test_a_run_that_ends_before_its_recovery_holds_says_so() -> None:
    """Back at 150 but the run ends at 170: undecided, and the empty KPIs say the recovery was not confirmed."""
    kpis = compute(series([10] * 29 + [0] * 120 + [10] * 21, empty=DNS_OUT), [])
    assert kpis["verdict"] == "undecided" and kpis["metastable"] is None
    assert kpis["why_empty"]["time_to_recover_s"].startswith("not confirmed: the run ended")


def test_a_run_without_a_fault_has_no_verdict_and_says_so() -> None:
    kpis = compute(series([10] * 100, empty=range(0)), [])
    assert kpis["verdict"] == "no fault"
    assert kpis["why_empty"]["time_to_recover_s"] == "no fault" and kpis["why_empty"]["trigger_start"] == "no fault"


def test_a_stuck_run_brought_back_by_the_operators_says_which_push_did_it() -> None:
    """Stuck at 179 (a horizon after the trigger); an operator action at 300, goodput back from 301 (its 10-s
    window at 310): the verdict stays stuck, and pushed_back names the action and when the run came back."""
    action = Event(300.0, EventKind.OPERATOR_ACTION, "operator", "throttle_dwfm", {"action": "throttle_dwfm"})
    kpis = compute(series([10] * 29 + [3] * 271 + [10] * 100, empty=DNS_OUT), [action])
    assert kpis["verdict"] == "stuck" and kpis["decided_at_s"] == 59 + MIN_HORIZON
    assert kpis["pushed_back"] == {"recovered_at_s": 310, "actions": [{"t": 300.0, "action": "throttle_dwfm"}]}
    assert "push from outside: the operators' throttle_dwfm (300 s)" in kpis["verdict_sentence"]
