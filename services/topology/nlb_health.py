"""Who is in service behind a network load balancer, from its health checks (pure: results in, changes out).

Modelled on an NLB target group: a member leaves service after `unhealthy_threshold` failed checks in a row and
comes back after `healthy_threshold` passed ones. Velocity control, AWS's fix after 2025-10-20 ("a velocity
control mechanism to limit the capacity a single NLB can remove when health check failures cause AZ failover"),
caps how many members one interval may take out: `max_removed_share` of them (at least one); the others that have
failed enough stay in service and are looked at again the next interval. With a `velocity_window` (seconds), the cap
holds over any window that long instead of one interval: once the share has been taken out, nothing more goes out
until the oldest removal is that far behind (AWS gives no figure for either). A group never empties itself: when every
member would be out, all stay in (an NLB fails open, sending to all targets when none is healthy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class HealthRules:
    healthy_threshold: int = 2  # passed checks in a row to come back (AWS's default for NLB target groups is 5)
    unhealthy_threshold: int = 2  # failed checks in a row to leave (AWS's default is 2)
    max_removed_share: float | None = None  # velocity control: None, no limit
    velocity_window: float | None = None  # ... over this many seconds (None: per check interval)

    def __post_init__(self) -> None:
        if self.healthy_threshold < 1 or self.unhealthy_threshold < 1:
            raise ValueError("thresholds must be at least 1")
        if self.max_removed_share is not None and not 0 < self.max_removed_share <= 1:
            raise ValueError(f"max_removed_share = {self.max_removed_share}: must be in (0, 1]")
        if self.velocity_window is not None and not self.velocity_window > 0:
            raise ValueError(f"velocity_window = {self.velocity_window}: must be above 0")


@dataclass
class _Member:
    in_service: bool = True
    passes: int = 0
    fails: int = 0


@dataclass
class HealthBook:
    """The members' check streaks and who is in service."""

    rules: HealthRules
    members: dict[str, _Member] = field(default_factory=dict)
    removals: list[float] = field(default_factory=list)  # when members were taken out (for a velocity window)

    def add(self, name: str, *, in_service: bool) -> None:
        self.members[name] = _Member(in_service=in_service)

    def in_service(self) -> list[str]:
        return [name for name, m in self.members.items() if m.in_service]

    def record(self, results: dict[str, bool], now: float = 0.0) -> tuple[list[str], list[str]]:
        """One interval's check results (member -> passed) at `now`; returns (removed, returned) in this
        interval."""
        due_out: list[str] = []
        returned: list[str] = []
        for name, passed in results.items():
            member = self.members[name]
            member.passes, member.fails = (member.passes + 1, 0) if passed else (0, member.fails + 1)
            if member.in_service and member.fails >= self.rules.unhealthy_threshold:
                due_out.append(name)
            elif not member.in_service and member.passes >= self.rules.healthy_threshold:
                member.in_service = True
                returned.append(name)
        staying = len(self.in_service()) - len(due_out)
        if staying <= 0:  # fail open: never take the last ones out
            return [], returned
        limit = len(due_out)
        if self.rules.max_removed_share is not None:
            limit = max(1, math.floor(self.rules.max_removed_share * len(self.members)))
            if (window := self.rules.velocity_window) is not None:
                self.removals = [t for t in self.removals if now - t < window]
                limit = max(0, limit - len(self.removals))
        removed = due_out[:limit]
        self.removals += [now] * len(removed)
        for name in removed:
            self.members[name].in_service = False
        return removed, returned


@dataclass
class CheckLoad:
    """The health-check subsystem's own load. AWS's account of 2025-10-20 says the alternating health-check
    results added load to the health-check subsystem, which degraded and delayed the checks. Each interval the
    fleet can make `capacity` checks' worth of work (None: unlimited); every member's check is one, and every
    change of membership (a member out, or back in: its DNS update and re-checks) adds `change_cost` more. Work
    that does not fit waits for the next interval, ahead of that interval's checks; as many of the interval's
    checks as are still waiting when it ends are late (which ones is the caller's draw), and a late check fails.
    So once flapping starts, its own changes keep the fleet behind and the checks failing (a metastable loop)
    until no more changes are made."""

    capacity: float | None = None
    change_cost: float = 0.0
    backlog: float = 0.0  # work carried into the next interval

    def late(self, checks: int) -> int:
        """How many of this interval's `checks` come too late (the work ahead of them is served first)."""
        if self.capacity is None:
            return 0
        work = self.backlog + checks
        self.backlog = max(0.0, work - self.capacity)
        return min(checks, math.ceil(self.backlog - 1e-9))

    def changed(self, changes: int) -> None:
        if self.capacity is not None:
            self.backlog += self.change_cost * changes

    def clear(self) -> None:
        self.backlog = 0.0
