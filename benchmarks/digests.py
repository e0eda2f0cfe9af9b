"""Every shipped scenario in virtual time, and the SHA-256 of the files a run leaves: are they byte-identical?

    python -m benchmarks.digests                       # this checkout: one digest per scenario and file
    python -m benchmarks.digests --against main~3      # and the same at another commit, side by side
    python -m benchmarks.digests --only dns-race --only cascade

A refactor that changes no behaviour leaves kpis.json, timeseries.csv and events.jsonl byte for byte as they were:
virtual runs are deterministic for a scenario and its seed. The other commit runs from a git worktree of its own
(removed afterwards), in a process of its own, beside this checkout's runs (one of each at a time: the machine's two
cores). The scenarios are those `cascadesim scenarios` lists: the TOML files at the top of scenarios/. The full
replay takes several minutes a side. Exit status 1 when a digest differs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ("kpis.json", "timeseries.csv", "events.jsonl")
RUN = "from scenarios.cli import main; main()"  # the command as the entry point runs it, in the checkout given


def digests(checkout: Path, scenario: str) -> dict[str, str]:
    """Run scenarios/SCENARIO.toml of `checkout` in virtual time; the digest of each of its files."""
    with tempfile.TemporaryDirectory(prefix="digests-") as out:
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        command = [sys.executable, "-c", RUN, "run", f"scenarios/{scenario}.toml", "--virtual", "--out", out]
        done = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            return {name: f"exit {done.returncode}" for name in FILES}
        (run,) = Path(out).iterdir()
        return {name: hashlib.sha256((run / name).read_bytes()).hexdigest()[:16] for name in FILES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="a commit to compare with (run from a git worktree)")
    parser.add_argument("--only", action="append", default=[], help="a scenario's name (repeatable)")
    args = parser.parse_args()
    names = args.only or sorted(path.stem for path in (ROOT / "scenarios").glob("*.toml"))
    with tempfile.TemporaryDirectory(prefix="digests-worktree-") as temp:
        other = None
        if args.against:
            other = Path(temp) / "other"
            subprocess.run(["git", "worktree", "add", "--detach", str(other), args.against], cwd=ROOT, check=True)
        try:
            with ThreadPoolExecutor(max_workers=2) as pool:
                here = {name: pool.submit(digests, ROOT, name) for name in names}
                there = {name: pool.submit(digests, other, name) for name in names} if other else {}
                differ = 0
                print(f"{'scenario':<26} {'file':<15} {'here':<16}" + (f" {args.against:<16} same" if other else ""))
                for name in names:
                    mine = here[name].result()
                    theirs = there[name].result() if other else {}
                    for file in FILES:
                        line = f"{name:<26} {file:<15} {mine[file]:<16}"
                        if other:
                            same = mine[file] == theirs[file]
                            differ += not same
                            line += f" {theirs[file]:<16} {'yes' if same else 'NO'}"
                        print(line, flush=True)
        finally:
            if other is not None:
                subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=False)
    if other:
        print(f"{len(names) * len(FILES) - differ} of {len(names) * len(FILES)} files byte-identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
