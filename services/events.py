"""The event log: what happened, when, and why, in simulated seconds since the run started.

Every component reports through one `EventLog`, naming what happened with an `EventKind` (services/event_kinds.py);
sinks (the console stream, `events.jsonl`) subscribe to it.
The log takes its clock as a function, so that it reads the run's own clock (the virtual clock of
services/runtime/kernel.py in virtual runs, trio's MockClock in unit tests, the event loop's clock in live runs)
and never the wall clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from services.event_kinds import EventKind

Sink = Callable[["Event"], None]


@dataclass(frozen=True)
class Event:
    """One thing that happened: `t` seconds into the run, `source` did `kind`."""

    t: float
    kind: str  # an EventKind (a plain str when read back from events.jsonl)
    source: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "t": round(self.t, 6),
                "kind": self.kind,
                "source": self.source,
                "message": self.message,
                **self.data,
            },
            sort_keys=False,
        )


def read_events(path: Path, keep: Callable[[str], bool] | None = None) -> list[Event]:
    """A run's events.jsonl read back (the reports and comparisons work from saved runs), line by line; with
    `keep`, only the events whose kind it accepts (a 14-hour run logs hundreds of thousands of Enactor steps)."""
    events = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record = json.loads(line)
                if keep is not None and not keep(record["kind"]):
                    continue
                t, kind, source, message = (record.pop(key) for key in ("t", "kind", "source", "message"))
                events.append(Event(t, kind, source, message, record))
    return events


class EventLog:
    """Collects events in order and fans them out to sinks."""

    def __init__(
        self, clock: Callable[[], float], start: float | None = None, *, keep: Callable[[str], bool] | None = None
    ) -> None:
        self._clock = clock
        self._start = clock() if start is None else start
        self._sinks: list[Sink] = []
        self._keep = keep
        self.events: list[Event] = []  # those whose kind `keep` accepts (default: all); every sink sees every one
        self._by: str | None = None  # who is acting now, when someone at the controls is (`acting`)

    def now(self) -> float:
        """Seconds since the run started."""
        return self._clock() - self._start

    def subscribe(self, sink: Sink) -> None:
        self._sinks.append(sink)

    @contextmanager
    def acting(self, by: str) -> Iterator[None]:
        """Every event emitted meanwhile says `by` whom it was done (an operator at the console, say); what is done
        inside must not wait."""
        self._by = by
        try:
            yield
        finally:
            self._by = None

    def emit(self, kind: EventKind, source: str, message: str, **data: Any) -> Event:
        if self._by is not None:
            data["by"] = self._by
        event = Event(self.now(), kind, source, message, data)
        if self._keep is None or self._keep(kind):
            self.events.append(event)
        for sink in self._sinks:
            sink(event)
        return event


class JsonlSink:
    """Writes each event as one JSON line and flushes it, so an interrupted run keeps what it saw.

    A write that fails (the disk full, say) is not the emitting component's problem: the sink stops writing and
    tells `on_error` once, which stops the run; the events before it stay in the file."""

    def __init__(self, stream: IO[str], on_error: Callable[[OSError], None] | None = None) -> None:
        self._stream = stream
        self._on_error = on_error
        self.failed: OSError | None = None

    def __call__(self, event: Event) -> None:
        if self.failed is not None:
            return
        try:
            self._stream.write(event.to_json() + "\n")
            self._stream.flush()
        except OSError as exc:
            self.failed = exc
            if self._on_error is not None:
                self._on_error(exc)
