"""How busy the machine running a live run is: each live process's event-loop lag and CPU, once a second.

The capacity model decides how much work each node can do only while the process that runs the nodes has CPU to
spare. When it has not, timers fire late, service times stretch and queues grow: a collapse that belongs to the
machine, not to the modelled system. So every live process measures, each second, how late a timer set for the
second's end fired (its event loop's lag) and the share of one core it used (process CPU time over wall time).
The cloud's process does it in its sampler (scenarios/run/sampler.py); each Locust process in its own greenlet
(loadgen/locustfile.py). Which seconds count as saturated is the KPIs' business (reports/kpis.py). A virtual run
measures nothing: its clock waits for the work, so it has no saturation to report.

This measures the real machine, so it reads the real clocks (time.perf_counter, time.process_time): the one place
besides the report's wall-clock stamp that does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadGauge:
    """One process's lag and CPU, measured between two ticks of a once-a-second loop."""

    wall: Callable[[], float] = time.perf_counter
    cpu: Callable[[], float] = time.process_time
    _due: float | None = field(default=None, init=False, repr=False)
    _since: tuple[float, float] | None = field(default=None, init=False, repr=False)

    def expect(self, delay: float) -> None:
        """A timer is set to fire `delay` seconds from now."""
        now = self.wall()
        self._due = now + delay
        if self._since is None:
            self._since = (now, self.cpu())

    def stopped(self) -> None:
        """The timer was cancelled (the run ended): the next read has no lag to tell."""
        self._due = None

    def read(self) -> tuple[float, float]:
        """(lag in ms, share of one core) since the last read, now that the timer fired."""
        now, used = self.wall(), self.cpu()
        lag = 0.0 if self._due is None else max(0.0, now - self._due) * 1000
        began, used_before = self._since if self._since is not None else (now, used)
        share = (used - used_before) / (now - began) if now > began else 0.0
        self._since = (now, used)
        return round(lag, 1), round(share, 3)
