"""What a run shows while it runs: a progress bar in simulated time, the current phase, and live figures."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column

from reports.columns import (
    DNS_REGIONAL_ADDRESSES,
    DWFM_LEASES,
    DYNAMODB_ARRIVALS,
    HARNESS_CLOUD_CPU,
    HARNESS_CLOUD_LAG_MS,
    SECOND,
)
from reports.kpis import saturated
from scenarios.run.sampler import Row
from services.event_kinds import EventKind, FaultKind
from services.events import Event

# Events that name the phase a run is in.
PHASES: dict[str, str] = {
    EventKind.FAULT_START: "fault",
    EventKind.RECORD_EMPTIED: "DNS empty",
    EventKind.RECORD_FILLED: "DNS back",
    EventKind.DWFM_NO_PROGRESS: "DWFM collapsed",
    EventKind.LEASES_RECOVERED: "leases recovered",
    EventKind.OPERATOR_ACTION: "operators acting",
    EventKind.RUN_INTERRUPTED: "interrupted",
}


def progress_display(console: Console) -> Progress:
    """The bars' layout: label, bar, simulated seconds, wall time, phase, and the live figures when there is room
    for them. On a narrow terminal the label and phase wrap between words onto more lines instead of being cut."""
    columns = [
        TextColumn("[bold]{task.description}", table_column=Column(overflow="fold", min_width=20)),
        BarColumn(bar_width=10),
        TextColumn("{task.completed:>6.0f}/{task.total:.0f} s", table_column=Column(no_wrap=True)),
        TimeElapsedColumn(),
        TextColumn("{task.fields[phase]}", table_column=Column(overflow="fold", min_width=9)),
    ]
    if console.width >= FIGURES_FROM:
        columns.append(TextColumn("{task.fields[figures]}"))
    return Progress(*columns, console=console, transient=False)


FIGURES_FROM = 110  # columns: below that, the figures would be cut to a misleading number
WARN_EVERY = 15  # seconds between two warnings that the machine is saturated


class RunBar:
    """One run's bar, fed by the sampler (once a simulated second) and by the event log (the phase)."""

    def __init__(self, progress: Progress, label: str, duration: float) -> None:
        self.duration = duration
        self.phase = "starting"
        self._progress = progress
        self._task = progress.add_task(label, total=duration, phase=self.phase, figures="")
        self._warned_at: float | None = None
        self._previous: Row | None = None

    def __call__(self, event: Event) -> None:
        """An event sink: follow the phase."""
        if shows_phase(event):
            self.phase = PHASES[event.kind]
            self._progress.update(self._task, phase=self.phase)

    def second(self, row: Row) -> None:
        """A sampler listener: advance the bar and show this second's figures."""
        figures = f"DNS {row.get(DNS_REGIONAL_ADDRESSES, 0)} addr · DynamoDB {row.get(DYNAMODB_ARRIVALS, 0)}/s"
        if DWFM_LEASES in row:
            figures += f" · leases {row[DWFM_LEASES]}"
        second = float(row[SECOND])
        if second > self.duration:  # a virtual run past its written end, deciding its verdict
            self.phase = "deciding the verdict"
            self._progress.update(self._task, total=second, phase=self.phase)
        self._progress.update(self._task, completed=second, figures=figures)
        if saturated(row, before=self._previous):
            self._warn_saturated(row)
        self._previous = row

    def _warn_saturated(self, row: Row) -> None:
        """A line above the bar while this machine is the limit (at most one every WARN_EVERY seconds)."""
        second = float(row[SECOND])
        if self._warned_at is not None and second - self._warned_at < WARN_EVERY:
            return
        self._warned_at = second
        lag, cpu = row.get(HARNESS_CLOUD_LAG_MS, 0), float(row.get(HARNESS_CLOUD_CPU, 0))
        self._progress.console.print(
            f"[yellow]warning[/]: {second:.0f} s: this machine is the limit, not the model (the cloud's event loop "
            f"{lag} ms late, CPU {cpu:.0%} of a core): service times stretch. Fewer users, or --virtual.",
            highlight=False,
        )


def shows_phase(event: Event) -> bool:
    """Whether `event` starts a phase the bar names (a load spike is not a fault phase)."""
    return event.kind in PHASES and not (
        event.kind == EventKind.FAULT_START and event.data.get("fault") == FaultKind.LOAD_SPIKE
    )


class RunProgress(RunBar):
    """A display with one run's bar, for the length of a `with` block."""

    def __init__(self, console: Console, label: str, duration: float) -> None:
        super().__init__(progress_display(console), label, duration)

    def __enter__(self) -> RunProgress:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._progress.stop()
