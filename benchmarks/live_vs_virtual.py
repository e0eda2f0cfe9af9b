"""Benchmark (not a test): do Locust's users in a live run and the virtual users see the same scenario?

Runs a shipped scenario (default scenarios/cascade-live.toml) twice: live (`cascadesim serve`, real sockets,
Locust, as long as the scenario) and in virtual time (the same code on the virtual-clock asyncio loop of
services/runtime/kernel.py, loadgen's virtual users standing in for Locust). Both play the scenario as a live run does
(`live_compression` applied). From each run's per-second outcomes it prints the headline figures side by side,
measured around the scenario's trigger:

- a DNS outage (the race empties DynamoDB's record, as in cascade-live): the error share from 6 s after DNS went
  empty (once cached answers have run out) to the repair, and the herd in the first 15 s after the repair
  (users' outboxes sent back to back);
- otherwise its first load spike: the error share during the spike, and the herd from the spike's start to 15 s
  after its end (retries during the spike, and any storm that outlasts it); then, per user kind during the spike,
  the logical requests, the ok and throttled shares and the attempts per logical request.

The herd is given over the busiest second and over the busiest 3 s (it spans a second boundary or two, so the
3-s figure is the robust one), with the baseline attempts per second before the trigger for scale.

The two agree when the error shares (overall, and per user kind for a load spike) are within 0.10 of each other
and the 3-s peaks within 30 %: the live run has real scheduling noise, a per-process DNS cache in Locust (up to
one TTL of extra lag) and a slower start. Exit status 1 if they do not agree. Run:

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python -m benchmarks.live_vs_virtual

Options: --scenario NAME runs scenarios/NAME.toml (e.g. lambda-throttle); --workers N runs Locust as a master plus
N workers instead of one process.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from loadgen.behaviour import SecondOutcomes
from scenarios.config.schema import LoadSpike, Scenario, for_live
from services.dns import REGIONAL
from services.events import Event, read_events
from tests.helpers import CLI, on_free_ports, run_virtual, scenario_file, shipped

ERROR_SHARE_TOLERANCE = 0.10
PEAK_TOLERANCE = 0.30
HERD_SECONDS = 15  # how long after the trigger ends the herd is looked for


@dataclass(frozen=True)
class Trigger:
    """Where a run's trigger lies, in whole seconds of the run, and how the figures name it."""

    start: int  # the baseline is taken before this second
    window: range  # the seconds whose requests give the error share
    herd: range  # the seconds where the busiest second is looked for
    during: str  # e.g. "during the outage"
    after: str  # e.g. "after the repair"
    by_kind: bool  # whether to print the per-kind figures


def trigger(scenario: Scenario, events: list[Event]) -> Trigger:
    """A DNS outage if the run had one (its times as the run saw them), else the scenario's first load spike."""
    emptied = [e.t for e in events if e.kind == "record_emptied" and e.data.get("name") == REGIONAL]
    restored = [e.t for e in events if e.kind == "record_filled" and e.data.get("name") == REGIONAL]
    if emptied and restored:
        start, end = int(emptied[0]), int(restored[0])
        return Trigger(
            start, range(start + 6, end), range(end, end + HERD_SECONDS), "during the outage", "after the repair", False
        )
    spikes = [f for f in scenario.faults if isinstance(f, LoadSpike)]
    if not spikes:
        raise SystemExit(f"{scenario.name}: no DNS outage in the run and no load_spike fault: nothing to measure")
    start, end = int(spikes[0].at), int(spikes[0].at + spikes[0].duration)
    return Trigger(
        start, range(start, end), range(start, end + HERD_SECONDS), "during the spike", "from the spike on", True
    )


@dataclass(frozen=True)
class Kind:
    """One user kind's requests during the trigger's window."""

    logical: int
    ok_share: float
    throttled_share: float
    attempts_per_request: float


@dataclass(frozen=True)
class Headline:
    trigger: Trigger
    baseline: float
    error_share: float
    peak_after: int
    peak_second: int
    peak_3s: int
    kinds: dict[str, Kind]


def headline(outcomes: SecondOutcomes, scenario: Scenario, events: list[Event]) -> Headline:
    found = trigger(scenario, events)
    attempts = outcomes.per_second("attempts")
    loaded = [s for s in sorted(attempts) if s < found.start][5:]  # once every user has started
    during = outcomes.totals(seconds=found.window)
    herd = found.herd
    peak_second = max(herd, key=lambda s: attempts.get(s, 0))
    peak_3s = max(sum(attempts.get(s + i, 0) for i in range(3)) for s in range(herd.start - 1, herd.stop - 2))
    kinds = {}
    for user in sorted({who for _, who in outcomes.rows}):
        counts = outcomes.totals(user, found.window)
        logical = max(1, counts["logical"])
        kinds[user] = Kind(
            counts["logical"], counts["ok"] / logical, counts["throttled"] / logical, counts["attempts"] / logical
        )
    return Headline(
        trigger=found,
        baseline=sum(attempts[s] for s in loaded) / max(1, len(loaded)),
        error_share=1 - during["ok"] / max(1, during["logical"]),
        peak_after=attempts.get(peak_second, 0),
        peak_second=peak_second,
        peak_3s=peak_3s,
        kinds=kinds,
    )


def live(scenario: Scenario, workers: int) -> Headline:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        path = scenario_file(on_free_ports(scenario), directory)
        out = directory / "run"
        command = [str(CLI), "serve", str(path), "--out", str(out)]
        if workers:
            command += ["--locust-workers", str(workers)]
        timeout = for_live(scenario).duration + 250
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=timeout)
        texts = [f.read_text() for f in sorted((out / "locust").glob("outcomes-*.csv"))]
        return headline(SecondOutcomes.from_csv(*texts), for_live(scenario), read_events(out / "events.jsonl"))


def virtual(scenario: Scenario) -> Headline:
    played = for_live(scenario)  # as `serve` plays it
    run = run_virtual(played)
    assert run.users is not None
    return headline(run.users.outcomes, played, run.events.events)


def compare(real: Headline, twin: Headline) -> bool:
    """Print the figures side by side and the verdict; whether they agree."""
    during, after = real.trigger.during, real.trigger.after
    print(f"\n{'':<40}{'live':>10}{'virtual':>10}")
    print(f"{'baseline attempts/s':<40}{real.baseline:>10.1f}{twin.baseline:>10.1f}")
    print(f"{'error share ' + during:<40}{real.error_share:>10.3f}{twin.error_share:>10.3f}")
    print(f"{'peak attempts/s ' + after:<40}{real.peak_after:>10}{twin.peak_after:>10}")
    print(f"{'  at second':<40}{real.peak_second:>10}{twin.peak_second:>10}")
    print(f"{'peak attempts in 3 s ' + after:<40}{real.peak_3s:>10}{twin.peak_3s:>10}")
    share_gap = abs(real.error_share - twin.error_share)
    kind_gaps = {}
    if real.trigger.by_kind:
        for user in sorted(real.kinds.keys() | twin.kinds.keys()):
            a, b = real.kinds.get(user, Kind(0, 0, 0, 0)), twin.kinds.get(user, Kind(0, 0, 0, 0))
            print(f"{user + ' users ' + during}")
            print(f"{'  logical requests':<40}{a.logical:>10}{b.logical:>10}")
            print(f"{'  ok share':<40}{a.ok_share:>10.3f}{b.ok_share:>10.3f}")
            print(f"{'  throttled share':<40}{a.throttled_share:>10.3f}{b.throttled_share:>10.3f}")
            per_request = f"{a.attempts_per_request:>10.2f}{b.attempts_per_request:>10.2f}"
            print(f"{'  attempts per logical request':<40}{per_request}")
            kind_gaps[user] = abs(a.ok_share - b.ok_share)
    peak_gap = abs(real.peak_3s - twin.peak_3s) / max(1, twin.peak_3s)
    worst_kind = max(kind_gaps.values(), default=0.0)
    agree = share_gap <= ERROR_SHARE_TOLERANCE and worst_kind <= ERROR_SHARE_TOLERANCE and peak_gap <= PEAK_TOLERANCE
    verdict = "they agree" if agree else "THEY DISAGREE"
    print(f"\nerror shares differ by {share_gap:.3f} (tolerance {ERROR_SHARE_TOLERANCE}), ", end="")
    if kind_gaps:
        worst = max(kind_gaps, key=lambda user: kind_gaps[user])
        print(f"per kind by at most {worst_kind:.3f} ({worst}), ", end="")
    print(f"3-s peaks by {100 * peak_gap:.0f}% (tolerance {100 * PEAK_TOLERANCE:.0f}%): {verdict}")
    return agree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="cascade-live", help="a shipped scenario's name (scenarios/NAME.toml)")
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    scenario = shipped(args.scenario)
    print(f"running {scenario.name} in virtual time ...", flush=True)
    twin = virtual(scenario)
    print(f"running {scenario.name} live with Locust (about {for_live(scenario).duration:.0f} s) ...", flush=True)
    real = live(scenario, args.workers)
    sys.exit(0 if compare(real, twin) else 1)


if __name__ == "__main__":
    main()
