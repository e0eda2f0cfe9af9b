"""A live process's load gauge: how late its once-a-second timer fires, and the share of a core it used."""

from __future__ import annotations

from loadgen.load_gauge import LoadGauge


class Clocks:
    """Wall and CPU clocks that the test moves by hand."""

    def __init__(self) -> None:
        self.wall_now = 100.0
        self.cpu_now = 5.0

    def wall(self) -> float:
        return self.wall_now

    def cpu(self) -> float:
        return self.cpu_now


def test_lag_is_how_late_the_timer_fired_and_cpu_the_share_of_a_core_used() -> None:
    """A timer set for 1 s that fires after 1.25 s is 250 ms late; 0.9 s of CPU over those 1.25 s is 72 % of a
    core; the next second is measured from this read; a timer the run's end cancelled has no lag."""
    clocks = Clocks()
    gauge = LoadGauge(wall=clocks.wall, cpu=clocks.cpu)
    gauge.expect(1.0)
    clocks.wall_now, clocks.cpu_now = 101.25, 5.9
    assert gauge.read() == (250.0, 0.72)
    gauge.expect(0.75)
    clocks.wall_now, clocks.cpu_now = 102.0, 6.0
    assert gauge.read() == (0.0, round(0.1 / 0.75, 3))
    gauge.expect(1.0)
    gauge.stopped()
    clocks.wall_now = 102.5
    assert gauge.read()[0] == 0.0
