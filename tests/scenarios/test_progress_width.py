"""The run's progress bar on an 80-column terminal: the run's label and its phase are never cut."""

from __future__ import annotations

import io

from rich.console import Console

from scenarios.progress import RunBar, progress_display
from services.event_kinds import EventKind
from services.events import Event


def test_an_80_column_progress_bar_keeps_every_label_and_phase_whole() -> None:
    """The longest label (scenario · policy set · mode) wraps between words; nothing ends in an ellipsis."""
    out = io.StringIO()
    console = Console(width=80, file=out, force_terminal=False)
    display = progress_display(console)
    labels = ["aws-2025-10-19 · adaptive-concurrency · virtual", "retry-storm · grpc-retry-throttling · live"]
    for label in labels:
        bar = RunBar(display, label, 50600)
        bar(Event(1.0, EventKind.RECORD_EMPTIED, "route53", "the record is empty"))
    console.print(display.make_tasks_table(display.tasks))
    text = out.getvalue()
    assert "…" not in text, text
    words = text.split()
    for label in labels:
        assert all(word in words for word in label.split()), text
    assert text.count("DNS empty") == len(labels), text


def test_the_console_warns_while_the_machine_is_saturated_at_most_every_fifteen_seconds() -> None:
    """A live row with the cloud's loop 250 ms late prints one warning line naming the second and what to do; the
    next saturated seconds within 15 s print nothing more; an unsaturated row prints nothing."""
    out = io.StringIO()
    console = Console(width=200, file=out, force_terminal=False)
    bar = RunBar(progress_display(console), "cascade-live · naive · live", 150)
    for second, lag in ((70, 5.0), (72, 250.0), (73, 300.0), (90, 120.0)):
        bar.second({"second": second, "harness_cloud_lag_ms": lag, "harness_cloud_cpu": 0.5})
    warnings = [line for line in out.getvalue().splitlines() if "warning" in line]
    assert len(warnings) == 2 and "72 s" in warnings[0] and "90 s" in warnings[1], warnings
    assert "250.0 ms late" in warnings[0] and "--virtual" in warnings[0]
