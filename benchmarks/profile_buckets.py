"""Benchmark (not a test): where a virtual run's wall time goes, by bucket.

Runs one scenario in virtual time under cProfile and sums each function's own time (cProfile's tottime) by where
the function lives:

    scheduling     the virtual kernel and the runtime seam (services/runtime/; asyncio, anyio)
    network        the in-process hop (services/net/virtual_network.py)
    HTTP objects   requests, responses, headers, routing (services/net/http.py; httpx's and Starlette's where used)
    JSON           encoding and decoding
    services       the modelled nodes: DynamoDB, the capacity model, EC2, DWFM, Lambda, the control plane
    policies       client and server throttling policies (services/throttling)
    DNS            dnspython, the shared resolver, the authority, the stubs
    clients        the exchange core, the internal client, the virtual users
    sampler        the per-second sampler, events and the run's files
    other          everything else (the standard library's helpers, random, dataclasses, ...)

    .venv/bin/python -m benchmarks.profile_buckets [SCENARIO] [--duration S] [--top N]

cProfile slows everything by a roughly constant factor, so the shares, not the seconds, are the figure to read.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from scenarios.config.schema import load_scenario
from scenarios.run.execute import RunOptions, execute

BUCKETS = (  # first match wins: a path fragment and its bucket
    ("services/net/virtual_network.py", "network"),
    ("services/runtime/kernel.py", "scheduling"),
    ("services/runtime/tasks.py", "scheduling"),
    ("services/runtime/seam.py", "scheduling"),
    ("services/net/http.py", "HTTP objects"),
    ("/asyncio/", "scheduling"),
    ("/anyio/", "scheduling"),
    ("/sniffio/", "scheduling"),
    ("/httpx/", "HTTP objects"),
    ("/httpcore/", "HTTP objects"),
    ("/starlette/", "HTTP objects"),
    ("/json/", "JSON"),
    ("services/throttling/", "policies"),
    ("/dns/", "DNS"),
    ("services/dns/stub.py", "DNS"),
    ("services/dns/resolver.py", "DNS"),
    ("services/dns/authority.py", "DNS"),
    ("services/dns/cache.py", "DNS"),
    ("services/dns/wire.py", "DNS"),
    ("services/client/exchange.py", "clients"),
    ("services/runtime/sansio.py", "clients"),
    ("services/client/service_client.py", "clients"),
    ("services/net/protocol.py", "clients"),
    ("loadgen/", "clients"),
    ("services/", "services"),
    ("scenarios/run/sampler.py", "sampler"),
    ("services/events.py", "sampler"),
    ("/hdrh/", "sampler"),
    ("reports/", "sampler"),
)


def bucket_of(path: str) -> str:
    return next((name for fragment, name in BUCKETS if fragment in path), "other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/retry-storm.toml")
    parser.add_argument("--duration", type=float, help="simulated seconds (default: the scenario's)")
    parser.add_argument("--top", type=int, default=15, help="also list this many functions by own time")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    if args.duration is not None:
        scenario = scenario.model_copy(update={"duration": args.duration})
    profile = cProfile.Profile()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        profile.enable()
        execute(scenario, Path(tmp) / "run", RunOptions(virtual=True))
        profile.disable()
        wall = time.perf_counter() - started
    stats = pstats.Stats(profile)
    totals: dict[str, float] = {}
    rows = []
    for (path, line, name), (_, calls, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        totals[bucket_of(path)] = totals.get(bucket_of(path), 0.0) + own
        rows.append((own, calls, f"{Path(path).name}:{line} {name}"))
    measured = sum(totals.values())
    print(f"{scenario.name}: {scenario.duration:g} simulated s in {wall:.1f} s of wall time under cProfile\n")
    print(f"{'bucket':<14}{'own s':>9}{'share':>8}")
    for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"{name:<14}{seconds:>9.2f}{100 * seconds / measured:>7.1f}%")
    print(f"\n{'own s':>8}{'calls':>10}  function (top {args.top})")
    for own, calls, where in sorted(rows, reverse=True)[: args.top]:
        print(f"{own:>8.2f}{calls:>10}  {where}")


if __name__ == "__main__":
    main()
