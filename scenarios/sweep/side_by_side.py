"""Virtual runs side by side, one process per core: what `compare --virtual` uses for its policy sets.

A virtual run is single-threaded and independent of any other, so on a 2-core machine two at a time halve a
comparison's wall time. Each child process runs `execute` exactly as a lone run does (its own run directory and
report); the parent draws one progress bar per run from the seconds and phases the children send it.

Interrupts: the children run in their own process group, so Ctrl-C reaches the parent alone. The parent passes a
SIGINT or SIGTERM on to every running child exactly once, as soon as that child's run listens for it (a second
one could land while the child writes its report). Each child then stops, keeps what it gathered and writes its
report; runs not yet started are not started.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from reports.columns import DNS_REGIONAL_ADDRESSES, DWFM_LEASES, DYNAMODB_ARRIVALS, SECOND
from scenarios.config.schema import Scenario
from scenarios.run.execute import RunOptions, RunResult, execute
from scenarios.run.progress import RunBar, progress_display, shows_phase
from scenarios.run.sampler import Row
from services.events import Event

# The figures a child sends with each second it reports (what RunBar shows).
_SHOWN = (SECOND, DNS_REGIONAL_ADDRESSES, DYNAMODB_ARRIVALS, DWFM_LEASES)


@dataclass(frozen=True)
class Job:
    scenario: Scenario
    directory: Path
    options: RunOptions
    label: str


def run_side_by_side(
    jobs: list[Job], console: Console, processes: int, on_result: Callable[[int, RunResult], None] | None = None
) -> list[RunResult]:
    """Run `jobs` (virtual) at most `processes` at a time; the results of the jobs that ran, in order.
    `on_result(index, result)` hears each job's result as soon as its process has ended.

    After an interrupt the list stops at the last job that was started (each such result says it was interrupted).
    """
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of the parent's state leaks in
    messages: Any = context.Queue()
    results: dict[int, RunResult] = {}
    running: dict[int, BaseProcess] = {}
    bars: dict[int, RunBar] = {}
    listening: set[int] = set()  # children whose run has begun, and so listens for an interrupt
    told: set[int] = set()  # children that have been passed the interrupt
    started = 0
    stop = {"asked": False}

    def interrupt(signum: int, frame: FrameType | None) -> None:
        stop["asked"] = True

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    display = progress_display(console)
    try:
        with display:
            while running or (started < len(jobs) and not stop["asked"]):
                while started < len(jobs) and len(running) < processes and not stop["asked"]:
                    job = jobs[started]
                    child = context.Process(target=_child, args=(started, job, messages), daemon=True)
                    child.start()
                    running[started] = child
                    bars[started] = RunBar(display, job.label, job.scenario.duration)
                    started += 1
                if stop["asked"]:
                    for index in (listening & running.keys()) - told:
                        told.add(index)
                        pid = running[index].pid
                        if pid is not None and running[index].is_alive():
                            os.kill(pid, signal.SIGINT)
                _receive(messages, bars, results, listening, timeout=0.2)
                for index, process in list(running.items()):
                    if index in results or not process.is_alive():
                        process.join(timeout=5 if index in results else 0)
                        if process.is_alive():
                            continue
                        _receive(messages, bars, results, listening, timeout=0)  # a result sent just before it exited
                        if index not in results:
                            code = process.exitcode
                            results[index] = RunResult(
                                jobs[index].directory,
                                {},
                                interrupted=stop["asked"],
                                problems=[f"the run {jobs[index].label} died (exit code {code})"],
                            )
                        del running[index]
                        if on_result is not None:
                            on_result(index, results[index])
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for leftover in running.values():  # only if the parent itself failed: leave nothing behind
            leftover.kill()
    return [results[i] for i in range(started)]


def _receive(
    messages: Any, bars: dict[int, RunBar], results: dict[int, RunResult], listening: set[int], timeout: float
) -> None:
    """Take what the children sent (waiting at most `timeout` for the first message)."""
    block = timeout > 0
    while True:
        try:
            kind, index, payload = messages.get(block, timeout) if block else messages.get_nowait()
        except queue.Empty:
            return
        block = False
        if kind == "listening":
            listening.add(index)
        elif kind == "row":
            bars[index].second(payload)
        elif kind == "event":
            bars[index](payload)
        else:
            results[index] = payload


def _child(index: int, job: Job, messages: Any) -> None:
    """One run in its own process, in its own process group (interrupts come from the parent only)."""
    os.setpgrp()
    heard: list[bool] = []
    every = max(1, int(job.scenario.duration // 1000))  # about a thousand updates per bar

    def second(row: Row) -> None:
        if int(row[SECOND]) % every == 0:
            messages.put(("row", index, {k: row[k] for k in _SHOWN if k in row}))

    def event(happened: Event) -> None:
        if not heard:  # the first event comes from inside the run, whose signal receiver is open by then
            heard.append(True)
            messages.put(("listening", index, None))
        if shows_phase(happened):
            messages.put(("event", index, happened))

    result = execute(job.scenario, job.directory, job.options, on_second=second, sinks=(event,))
    messages.put(("result", index, result))
