"""Benchmark (not a test): does the live replay keep the phases of the full-length one?

Reads two run directories of scenarios/aws-2025-10-19.toml, one at full length (`cascadesim run … --virtual`) and
one live (`cascadesim run …`, Locust), or makes them (about six and a half and six minutes on this project's
2-core machine), and prints, side by side, each phase's share of the incident (from the moment DynamoDB's regional
record emptied to the end of the run) and the ratio of the live share to the full one:

- the phases between the rows of the scenario's table: DNS empty → DNS repaired → DWFM fixed → SQS pollers → NLB
  failover off → throttles off → the end (the rows after the first are the operators' actions);
- what follows from them, not scripted: launches failing (InsufficientInstanceCapacity until they succeed again),
  the NLBs' flapping (first to last target taken out), and each client kind's error windows (kpis.json).

AWS's own shares are printed beside them. A table phase whose live share (of the incident, or of the whole run)
is more than 20 % off its full-length share is marked; exit status 1 if any is.
The windows are printed for the order and proportions the scenario's comment states, not judged. Run:

    .venv/bin/python -m benchmarks.replay_phases [--full DIR] [--live DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from reports.kpis import Row, compute
from reports.render import run_rows
from services.event_kinds import EventKind, OperatorKind
from services.events import Event, read_events

SCENARIO = "scenarios/aws-2025-10-19.toml"
REGIONAL = "dynamodb.us-east-1.cloud.test has no addresses"
ROWS = (
    ("DNS repaired", OperatorKind.RESTORE_DNS),
    ("DWFM fixed", OperatorKind.RESTART_DWFM),
    ("SQS pollers", OperatorKind.RESTART_POLLER),
    ("NLB failover off", OperatorKind.DISABLE_NLB_FAILOVER),
    ("throttles off", OperatorKind.RELAX_THROTTLES),
)
TOLERANCE = 0.2
# AWS's times for the same rows, in seconds after the race (the scenario's comment): 23:48 PDT, 02:25, 04:14,
# 04:40, 09:36, 11:23, and 14:20 when the event ended.
AWS = (0, 9_420, 15_960, 17_520, 35_280, 41_700, 52_320)


def boundaries(events: list[Event]) -> list[tuple[str, float]]:
    """The table's rows as (name, time): DNS empty, each operator action, the end."""

    def first(what: str, found: list[float]) -> float:
        if not found:
            raise SystemExit(f"the run has no {what}: is it a run of {SCENARIO}?")
        return found[0]

    empty = first("empty record", [e.t for e in events if e.kind == EventKind.RECORD_EMPTIED and REGIONAL in e.message])
    rows = [("DNS empty", empty)]
    for name, action in ROWS:
        at = [e.t for e in events if e.kind == EventKind.OPERATOR_ACTION and e.data.get("action") == action]
        rows.append((name, first(f"{action} action", at)))
    rows.append(("end", first("end", [e.t for e in events if e.kind == EventKind.RUN_STOPPED])))
    return rows


def windows(events: list[Event], rows: list[Row]) -> dict[str, list[tuple[float, float]]]:
    """What followed, not scripted: launches failing, NLB flapping, each kind's and each declared operation's
    error windows (the KPIs, computed again from the saved time series with today's definitions)."""
    found: dict[str, list[tuple[float, float]]] = {}
    failing = [e.t for e in events if e.kind == EventKind.LAUNCHES_FAILING]
    recovered = [e.t for e in events if e.kind == EventKind.LAUNCHES_RECOVERED]
    found["launches failing"] = [(f, min([r for r in recovered if r > f], default=f)) for f in failing]
    outs = [e.t for e in events if e.kind == EventKind.NLB_TARGET_OUT]
    found["NLB flapping"] = [(min(outs), max(outs))] if outs else []
    kpis = compute(rows, events)
    for key in ("error_windows", "operation_error_windows"):
        for kind, spans in sorted((kpis[key] or {}).items()):
            found[f"{kind} errors"] = [(float(a), float(b)) for a, b in spans]
    return found


def _run(live: bool, into: Path) -> Path:
    command = [str(Path(sys.executable).parent / "cascadesim"), "run", SCENARIO, "--out", str(into)]
    print(f"running the replay {'live' if live else 'at full length (--virtual)'} into {into} ...", flush=True)
    subprocess.run(command if live else [*command, "--virtual"], check=True, stdout=subprocess.DEVNULL)
    return into


def _run_directory(path: Path) -> Path:
    """`path` itself when it is a run directory, else the newest run directory in it (as `--out` makes them)."""
    if (path / "events.jsonl").is_file():
        return path
    found = sorted(path.glob("*/events.jsonl"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit(f"{path}: no run directory (events.jsonl) in it")
    return found[-1].parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", type=Path, help="a full-length run directory (without it, one is made)")
    parser.add_argument("--live", type=Path, help="a live run directory (without it, one is made)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="replay-phases-"))
    full = _run_directory(args.full or _run(False, scratch / "full"))
    live = _run_directory(args.live or _run(True, scratch / "live"))
    loaded = []
    for directory in (full, live):
        events = read_events(directory / "events.jsonl")
        loaded.append((boundaries(events), windows(events, run_rows(directory))))
    (full_rows, full_windows), (live_rows, live_windows) = loaded
    full_span = full_rows[-1][1] - full_rows[0][1]
    live_span = live_rows[-1][1] - live_rows[0][1]
    print(
        f"\nthe incident: full {full_span:,.0f} s (from {full_rows[0][1]:.1f} s), live {live_span:.0f} s "
        f"(from {live_rows[0][1]:.1f} s); shares are of the incident, the last column's of the whole run\n"
    )
    print(
        f"{'phase':34} {'AWS':>7} {'full':>9} {'share':>7} {'live':>8} {'share':>7} {'live/full':>9} {'of the run':>12}"
    )
    off = 0
    for k in range(len(full_rows) - 1):
        name = f"{full_rows[k][0]} → {full_rows[k + 1][0]}"
        f = full_rows[k + 1][1] - full_rows[k][1]
        v = live_rows[k + 1][1] - live_rows[k][1]
        aws = (AWS[k + 1] - AWS[k]) / AWS[-1]
        ratio = (v / live_span) / (f / full_span)
        of_run = (v / live_rows[-1][1]) / (f / full_rows[-1][1])
        mark = "" if abs(ratio - 1) <= TOLERANCE and abs(of_run - 1) <= TOLERANCE else "  << more than 20 % off"
        off += bool(mark)
        print(
            f"{name:34} {aws:>7.1%} {f:>7,.0f} s {f / full_span:>7.1%} {v:>6.1f} s {v / live_span:>7.1%} "
            f"{ratio:>9.2f} {of_run:>12.2f}{mark}"
        )
    print("\nwhat followed (start–end as shares of the incident; full | live):")
    for name in sorted(set(full_windows) | set(live_windows)):
        here, there = _spans(full_windows.get(name, []), full_rows), _spans(live_windows.get(name, []), live_rows)
        print(f"  {name:30} {here:32} | {there}")
    print(f"\nfull: {full}\nlive: {live}")
    return 1 if off else 0


def _spans(spans: list[tuple[float, float]], rows: list[tuple[str, float]]) -> str:
    start, end = rows[0][1], rows[-1][1]
    parts = [f"{(a - start) / (end - start):.1%}–{(b - start) / (end - start):.1%}" for a, b in spans]
    return ", ".join(parts) if parts else "none"


if __name__ == "__main__":
    sys.exit(main())
