"""The run's progress bar on an 80-column terminal: the run's label and its phase are never cut."""

from __future__ import annotations

import io

from rich.console import Console

from scenarios.run.progress import RunBar, progress_display
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
    """The second of two running with the cloud's loop 100 ms late or more prints one warning line naming the
    second and what to do; the next saturated seconds within 15 s print nothing more; a lone late second, or an
    unsaturated one, prints nothing."""
    out = io.StringIO()
    console = Console(width=200, file=out, force_terminal=False)
    bar = RunBar(progress_display(console), "cascade-live · naive · live", 150)
    lags = {70: 5.0, 71: 250.0, 72: 300.0, 73: 280.0, 80: 400.0, 90: 120.0, 91: 130.0}
    for second in range(70, 95):
        bar.second({"second": second, "harness_cloud_lag_ms": lags.get(second, 5.0), "harness_cloud_cpu": 0.5})
    warnings = [line for line in out.getvalue().splitlines() if "warning" in line]
    assert len(warnings) == 2 and "72 s" in warnings[0] and "91 s" in warnings[1], warnings
    assert "300.0 ms late" in warnings[0] and "--virtual" in warnings[0]
