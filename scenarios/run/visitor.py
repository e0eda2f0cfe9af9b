"""What a run knows of a guest (the user's program under `cascadesim exec`, or a test under the pytest plugin): it
visits the cloud once the cloud is ready, and the run ends when it leaves. The guests themselves are in
scenarios/guest/."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from services.events import EventLog
from services.topology.cloud import Cloud


@dataclass
class ProgramRun:
    """What became of a guest: its exit status once it has one."""

    command: tuple[str, ...]
    status: int | None = None
    seconds: float | None = None  # how long it ran
    ended: float | None = None  # when it ended, on the run's clock
    stopped: bool = False  # the run's end (or Ctrl-C) stopped it; it did not end by itself
    pids: list[int] = field(default_factory=list)


class Guest(Protocol):
    """What visits the cloud from outside during a run."""

    run: ProgramRun

    async def visit(self, cloud: Cloud, directory: Path, events: EventLog) -> None:
        """Use the cloud until done (the run then ends) or cancelled (the run has ended); `directory` is the run's
        program/ directory, for the guest's lookups of the cloud's names."""
