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
