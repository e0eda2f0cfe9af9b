"""Benchmark (not a test): the memory a live run takes, all its processes together (target: under 2 GiB).

Starts `cascadesim run SCENARIO` (default: cascade-live, two and a half minutes, with Locust), samples the resident
memory of the run and every process under it (the cloud, Locust's master and workers) once a second with psutil,
and prints the peak of the sum, and each process's own peak. Run:

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python -m benchmarks.live_memory [SCENARIO] [--workers N]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from tests.helpers import CLI, on_free_ports, scenario_file, shipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="cascade-live", help="a name from scenarios/")
    parser.add_argument("--workers", type=int, default=0, help="Locust master plus this many workers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = scenario_file(on_free_ports(shipped(args.scenario)), Path(tmp))
        command = [str(CLI), "run", str(path), "--out", str(Path(tmp) / "r")]
        if args.workers:
            command += ["--locust-workers", str(args.workers)]
        started = time.monotonic()
        run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        root = psutil.Process(run.pid)
        peak_total = 0
        peaks: dict[tuple[int, str], int] = {}
        while run.poll() is None:
            total = 0
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for process in processes:
                try:
                    rss = process.memory_info().rss
                    name = " ".join(process.cmdline()[1:4])[:60]
                except psutil.NoSuchProcess:
                    continue
                total += rss
                peaks[(process.pid, name)] = max(peaks.get((process.pid, name), 0), rss)
            peak_total = max(peak_total, total)
            time.sleep(1)
        wall = time.monotonic() - started
    print(f"{'process':<68}{'peak MiB':>10}")
    for (pid, name), rss in sorted(peaks.items(), key=lambda item: -item[1]):
        print(f"{pid:<8}{name:<60}{rss / 2**20:>10.0f}")
    print(
        f"\nall processes together, at their peak: {peak_total / 2**20:.0f} MiB (target: under 2,048) in {wall:.0f} s"
    )


if __name__ == "__main__":
    main()
