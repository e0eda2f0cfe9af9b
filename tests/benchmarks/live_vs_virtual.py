"""Benchmark (not a test): do Locust's users in a live run and the virtual users see the same cascade?

Runs scenarios/cascade-live.toml twice: live (`cascadesim serve`, real sockets, Locust, two and a half minutes)
and in virtual time (the same code on the virtual-clock asyncio loop of services/virtual.py, loadgen's virtual
users standing in for Locust). From each run's per-second outcomes it prints the headline figures side by side:

- error share during the outage: failed logical requests / logical requests, from 6 s after DNS went empty (once
  cached answers have run out) to the repair;
- peak attempts after the repair (the first 15 s): the herd, users' outboxes sent back to back, over the busiest
  second and over the busiest 3 s (the herd spans a second boundary or two, so the 3-s figure is the robust one);
- baseline attempts per second before the fault, for scale.

The two agree when the error shares are within 0.10 of each other and the 3-s peaks within 30 %: the live run has
real scheduling noise, a per-process DNS cache in Locust (up to one TTL of extra lag) and a slower start. Exit
status 1 if they do not agree. Run:

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python -m tests.benchmarks.live_vs_virtual

Option: --workers N runs Locust as a master plus N workers instead of one process.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from loadgen.behaviour import SecondOutcomes
from scenarios.runner import run_virtual
from services.dns import REGIONAL
from services.events import Event, read_events
from tests.helpers import CLI, on_free_ports, scenario_file, shipped

ERROR_SHARE_TOLERANCE = 0.10
PEAK_TOLERANCE = 0.30


@dataclass(frozen=True)
class Headline:
    baseline: float
    error_share: float
    peak_after: int
    peak_second: int
    peak_3s: int


def headline(outcomes: SecondOutcomes, events: list[Event]) -> Headline:
    emptied = int(next(e.t for e in events if e.kind == "record_emptied" and e.data.get("name") == REGIONAL))
    restored = int(next(e.t for e in events if e.kind == "record_filled" and e.data.get("name") == REGIONAL))
    attempts = outcomes.per_second("attempts")
    loaded = [s for s in sorted(attempts) if s < emptied][5:]  # once every user has started
    during = outcomes.totals(seconds=range(emptied + 6, restored))
    peak_second = max(range(restored, restored + 15), key=lambda s: attempts.get(s, 0))
    peak_3s = max(sum(attempts.get(s + i, 0) for i in range(3)) for s in range(restored - 1, restored + 13))
    return Headline(
        baseline=sum(attempts[s] for s in loaded) / max(1, len(loaded)),
        error_share=1 - during["ok"] / max(1, during["logical"]),
        peak_after=attempts.get(peak_second, 0),
        peak_second=peak_second,
        peak_3s=peak_3s,
    )


def live(workers: int) -> Headline:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        scenario = scenario_file(on_free_ports(shipped("cascade-live")), directory)
        out = directory / "run"
        command = [str(CLI), "serve", str(scenario), "--out", str(out)]
        if workers:
            command += ["--locust-workers", str(workers)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=400)
        texts = [f.read_text() for f in sorted((out / "locust").glob("outcomes-*.csv"))]
        return headline(SecondOutcomes.from_csv(*texts), read_events(out / "events.jsonl"))


def virtual() -> Headline:
    run = run_virtual(shipped("cascade-live"))
    assert run.users is not None
    return headline(run.users.outcomes, run.events.events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    print("running cascade-live in virtual time ...", flush=True)
    twin = virtual()
    print("running cascade-live live with Locust (about 150 s) ...", flush=True)
    real = live(args.workers)
    print(f"\n{'':<40}{'live':>10}{'virtual':>10}")
    print(f"{'baseline attempts/s':<40}{real.baseline:>10.1f}{twin.baseline:>10.1f}")
    print(f"{'error share during the outage':<40}{real.error_share:>10.3f}{twin.error_share:>10.3f}")
    print(f"{'peak attempts/s after the repair':<40}{real.peak_after:>10}{twin.peak_after:>10}")
    print(f"{'  at second':<40}{real.peak_second:>10}{twin.peak_second:>10}")
    print(f"{'peak attempts in 3 s after the repair':<40}{real.peak_3s:>10}{twin.peak_3s:>10}")
    share_gap = abs(real.error_share - twin.error_share)
    peak_gap = abs(real.peak_3s - twin.peak_3s) / max(1, twin.peak_3s)
    agree = share_gap <= ERROR_SHARE_TOLERANCE and peak_gap <= PEAK_TOLERANCE
    verdict = "they agree" if agree else "THEY DISAGREE"
    print(f"\nerror shares differ by {share_gap:.3f} (tolerance {ERROR_SHARE_TOLERANCE}), ", end="")
    print(f"3-s peaks by {100 * peak_gap:.0f}% (tolerance {100 * PEAK_TOLERANCE:.0f}%): {verdict}")
    sys.exit(0 if agree else 1)


if __name__ == "__main__":
    main()
