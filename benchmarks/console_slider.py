"""How fast `cascadesim console RUN_DIR` answers a slider move, in real headless Chromium.

    python -m benchmarks.console_slider RUN_DIR [--moves 20]

Starts the console on a port the kernel picks, opens it (Debian's chromium), moves the slider to the last second,
the middle one and random others, and prints how long the server took to read the run, how long the page took to
be ready, and each move's draw time: from the move to the graph and the charts' cursor drawn, as the page measures
it (performance.now()).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

CLI = Path(sys.executable).with_name("cascadesim")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--moves", type=int, default=20)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    env = os.environ | {"PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    server = subprocess.Popen([str(CLI), "console", str(args.run_dir)], stdout=subprocess.PIPE, text=True, env=env)
    assert server.stdout is not None
    line = server.stdout.readline()
    found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
    if found is None:
        server.kill()
        print(f"no console address: {line!r}", file=sys.stderr)
        return 1
    print(f"server read the run in {time.monotonic() - started:.1f} s: {line.strip()}")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            opened = time.monotonic()
            page.goto(found.group(1))
            while not page.evaluate("window.__console !== undefined && window.__console.shown === 1"):
                time.sleep(0.02)
            print(f"page ready (graph, charts, events) in {time.monotonic() - opened:.2f} s")
            seconds = int(page.evaluate("window.__console.info.seconds"))
            rng = random.Random(1)
            wanted = [seconds, max(1, seconds // 2)] + [rng.randint(1, seconds) for _ in range(args.moves - 2)]
            draws = []
            for second in wanted:
                page.evaluate(
                    f"(() => {{ const s = document.getElementById('slider'); s.value = '{second}';"
                    " s.dispatchEvent(new Event('input')); })()"
                )
                while page.evaluate("window.__console.shown") != second:
                    time.sleep(0.005)
                draws.append(float(page.evaluate("window.__console.drawMs")))
            browser.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    draws.sort()
    print(
        f"{seconds} seconds; {len(draws)} slider moves drawn: median {draws[len(draws) // 2]:.0f} ms, "
        f"max {draws[-1]:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
