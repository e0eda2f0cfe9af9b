"""A target group's membership from its health checks: thresholds, velocity control, failing open."""

from __future__ import annotations

import pytest

from services.topology.nlb_health import CheckLoad, HealthBook, HealthRules


def book(n: int, **rules: object) -> HealthBook:
    health = HealthBook(HealthRules(**rules))  # type: ignore[arg-type]
    for i in range(n):
        health.add(f"t{i}", in_service=True)
    return health


def test_a_member_leaves_after_its_failures_and_comes_back_after_its_passes() -> None:
    """Two failed checks in a row take a member out, two passed ones bring it back; one failure alone does not."""
    health = book(3, healthy_threshold=2, unhealthy_threshold=2)
    assert health.record({"t0": False, "t1": True, "t2": True}) == ([], [])
    assert health.record({"t0": True, "t1": True, "t2": True}) == ([], [])
    assert health.record({"t0": False, "t1": True, "t2": True}) == ([], [])
    assert health.record({"t0": False, "t1": True, "t2": True}) == (["t0"], [])
    assert health.in_service() == ["t1", "t2"]
    assert health.record({"t0": True, "t1": True, "t2": True}) == ([], [])
    assert health.record({"t0": True, "t1": True, "t2": True}) == ([], ["t0"])


def test_velocity_control_caps_the_removals_of_one_interval() -> None:
    """With max_removed_share 0.25 of 8 members, no interval takes out more than 2, however many fail; the rest go
    in later intervals, if they still fail."""
    health = book(8, unhealthy_threshold=1, max_removed_share=0.25)
    checks = {f"t{i}": i < 2 for i in range(8)}  # t2..t7 fail
    removed_per_interval = [len(health.record(checks)[0]) for _ in range(4)]
    assert removed_per_interval == [2, 2, 2, 0]
    assert health.in_service() == ["t0", "t1"]


def test_a_velocity_window_caps_the_removals_over_that_many_seconds() -> None:
    """max_removed_share 0.25 of 8 over 10 s: two out at t=0, none more until t=10, then two more."""
    health = book(8, unhealthy_threshold=1, max_removed_share=0.25, velocity_window=10.0)
    checks = {f"t{i}": i < 2 for i in range(8)}
    removed = [len(health.record(checks, now=float(t))[0]) for t in range(0, 14, 2)]
    assert removed == [2, 0, 0, 0, 0, 2, 0]
    with pytest.raises(ValueError, match="velocity_window"):
        HealthRules(velocity_window=0)


def test_a_group_fails_open_rather_than_empty_itself() -> None:
    """When every member fails, none is taken out: an NLB sends to all targets when none is healthy."""
    health = book(3, unhealthy_threshold=1)
    assert health.record({"t0": False, "t1": False, "t2": False}) == ([], [])
    assert health.in_service() == ["t0", "t1", "t2"]


def test_bad_rules_are_refused() -> None:
    """A threshold under 1 or a share outside (0, 1] is a mistake in the settings."""
    with pytest.raises(ValueError, match="thresholds"):
        HealthRules(healthy_threshold=0)
    with pytest.raises(ValueError, match="max_removed_share"):
        HealthRules(max_removed_share=1.5)


def test_the_check_fleets_load_makes_late_checks_and_changes_add_to_it() -> None:
    """Six checks an interval on a fleet that does seven: none late; two changes at cost 4 put 8 ahead of the next
    interval's checks, so 8 + 6 - 7 = 7 wait (all six checks late); with no more changes it drains one a
    interval. Without a capacity nothing is ever late."""
    load = CheckLoad(capacity=7, change_cost=4)
    assert load.late(6) == 0
    load.changed(2)
    assert load.late(6) == 6 and load.backlog == 7
    assert [load.late(6) for _ in range(5)] == [6, 5, 4, 3, 2]
    load.clear()
    assert load.late(6) == 0
    unlimited = CheckLoad()
    unlimited.changed(100)
    assert unlimited.late(6) == 0
