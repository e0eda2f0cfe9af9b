"""Benchmark (not a test): what cascadesim's client layer costs a Locust user, against a plain FastHttpUser.

Both users send the same DynamoDB GetItem, with no think time, to the same live cloud (`cascadesim serve` of a
fault-free scenario whose routers have capacity to spare). The plain user posts to an address it resolved once;
ours resolves through the shared resolver (TTL-cached per process), picks an address, sends Host and x-deadline,
runs the client policy and records per-second outcomes. Each variant runs in its own single Locust process, in
turns, and we print its requests per second and its CPU time per 1,000 requests (Locust's own process, measured
with getrusage). On two cores the server may be what limits requests per second; CPU per request is the cost of
the client layer either way. Run:

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python -m benchmarks.locust_overhead

Options: --seconds (per turn, default 20), --users (default 20), --rounds (turns per variant, default 2).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dns.exception
import dns.resolver

from scenarios.config.schema import Scenario
from tests.helpers import CLI, ROOT, on_free_ports, scenario_file

LOCUSTFILE = Path(__file__).with_name("overhead_locustfile.py")
VARIANTS = ("PlainUser", "CascadeGetUser")


def scenario() -> Scenario:
    """No faults, one router with capacity to spare (no service time), on ports that nothing uses."""
    capacity = {"workers": 10000, "queue_limit": 100000, "service_time": {"kind": "constant", "mean": 0.0}}
    overhead = {"name": "locust-overhead", "duration": 3600, "dynamodb": {"routers": 1, "capacity": capacity}}
    return on_free_ports(Scenario.model_validate(overhead))


def wait_for_dns(resolver_port: int) -> None:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = ["127.0.0.1"], resolver_port, 1.0
    for _ in range(60):
        try:
            resolver.resolve("dynamodb.us-east-1.cloud.test", "A")
            return
        except dns.exception.DNSException:
            time.sleep(0.5)
    raise SystemExit("the cloud did not come up")


def run_variant(variant: str, path: Path, out: Path, users: int, seconds: int) -> tuple[float, int, int, float]:
    """(requests/s, requests, failures, CPU seconds) for one Locust run of one user class."""
    env = {
        **os.environ,
        "CASCADESIM_LOAD_PLAN": str(path.parent / "run" / "load-plan.json"),  # written by `cascadesim serve`
        "CASCADESIM_RUN_DIR": str(out / "outcomes"),
        "CASCADESIM_CLOCK": f"0.0 {time.perf_counter()!r}",  # so x-deadline is built and sent, as in a real run
    }
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary"]
    command += ["-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--csv", str(out / variant), variant]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with (out / f"{variant}_stats.csv").open() as f:
        total = next(row for row in csv.DictReader(f) if row["Name"] == "Aggregated")
    return float(total["Requests/s"]), int(total["Request Count"]), int(total["Failure Count"]), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        overhead = scenario()
        path = scenario_file(overhead, directory)
        serve = subprocess.Popen(
            [str(CLI), "serve", str(path), "--out", str(directory / "run")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_dns(overhead.dns.resolver_port)
            results: dict[str, list[tuple[float, int, int, float]]] = {v: [] for v in VARIANTS}
            for round_ in range(args.rounds):
                for variant in VARIANTS:
                    figures = run_variant(variant, path, directory / f"r{round_}", args.users, args.seconds)
                    results[variant].append(figures)
                    print(f"  round {round_ + 1} {variant}: {figures[0]:.0f} req/s, {figures[2]} failures")
        finally:
            serve.send_signal(signal.SIGINT)
            serve.wait(timeout=15)
    print(f"\n{'user':<16}{'req/s':>10}{'failures':>10}{'CPU ms / 1k req':>18}")
    per_k: dict[str, float] = {}
    for variant, runs in results.items():
        rate = sum(r[0] for r in runs) / len(runs)
        failures = sum(r[2] for r in runs)
        per_k[variant] = 1000 * 1000 * sum(r[3] for r in runs) / max(1, sum(r[1] for r in runs))
        print(f"{variant:<16}{rate:>10.0f}{failures:>10}{per_k[variant]:>18.1f}")
    plain_rate = sum(r[0] for r in results["PlainUser"]) / args.rounds
    ours_rate = sum(r[0] for r in results["CascadeGetUser"]) / args.rounds
    fewer = 100 * (1 - ours_rate / plain_rate)
    dearer = 100 * (per_k["CascadeGetUser"] / per_k["PlainUser"] - 1)
    print(f"\ncascadesim's user: {fewer:.1f}% fewer requests/s than a plain FastHttpUser (target: at most 10%),")
    print(f"and {dearer:.1f}% more client CPU per request.")


if __name__ == "__main__":
    main()
