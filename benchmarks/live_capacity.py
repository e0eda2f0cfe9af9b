"""Benchmark (not a test): how much of a router's modelled capacity does a live run deliver on this machine?

For each modelled capacity (one router, exponential service time of 4 ms, a queue of 100,000, `workers` of them:
capacity = workers / 4 ms), it runs a live cloud with no load of its own (`cascadesim run`, real sockets) and
drives its router directly with wrk (one C thread, 64 connections: a client that costs little CPU), GetItem and
PutItem 50/50 over 1,000 keys, for 20 s. From the run's own time series it prints, over the seconds wrk ran
(the first and last two left out): the goodput (completed requests a second), goodput ÷ modelled capacity, the cloud
process's event-loop lag (median and worst) and CPU, and the seconds the run flagged as saturated
(`saturated_seconds`'s rule, reports/kpis.py). A ratio near 1 means the model, not the machine, set the pace.

Needs wrk (Debian: `apt-get install wrk`). Run:

    .venv/bin/python -m benchmarks.live_capacity [--workers 2 4 8 16 64] [--seconds 20]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from reports.kpis import saturated_rows
from scenarios.config.free_ports import on_free_ports
from scenarios.config.schema import parse_scenario
from scenarios.run.execute import write_scenario

SERVICE_TIME = 0.004
TABLE = "bench"
WRK_SCRIPT = """
math.randomseed(1)
local n = 0
local headers = {["Content-Type"] = "application/x-amz-json-1.0"}
request = function()
  n = n + 1
  local key = math.random(1000)
  if n % 2 == 0 then
    headers["X-Amz-Target"] = "DynamoDB_20120810.GetItem"
    return wrk.format("POST", "/", headers, '{"TableName":"bench","Key":{"pk":{"S":"k' .. key .. '"}}}')
  end
  headers["X-Amz-Target"] = "DynamoDB_20120810.PutItem"
  return wrk.format("POST", "/", headers, '{"TableName":"bench","Item":{"pk":{"S":"k' .. key .. '"},"v":{"S":"x"}}}')
end
"""


def scenario_file(workers: int, seconds: int, directory: Path) -> tuple[Path, int]:
    """A one-router scenario with `workers` workers, on free ports; returns its file and the router's port."""
    data = {
        "name": f"live-capacity-{workers}",
        "duration": seconds + 12,
        "dynamodb": {
            "routers": 1,
            "capacity": {
                "workers": workers,
                "queue_limit": 100_000,
                "service_time": {"kind": "exponential", "mean": SERVICE_TIME},
            },
        },
    }
    scenario = on_free_ports(parse_scenario(data, "live_capacity"))
    path = directory / f"{scenario.name}.toml"
    write_scenario(scenario, path)
    return path, scenario.dynamodb.port


def _call(port: int, target: str, body: str) -> httpx.Response:
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDB_20120810.{target}"}
    return httpx.post(f"http://127.0.1.1:{port}/", headers=headers, content=body, timeout=2.0)


def _wait_for_table(port: int, deadline: float) -> None:
    body = (
        '{"TableName":"bench","BillingMode":"PAY_PER_REQUEST",'
        '"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],'
        '"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}]}'
    )
    while time.monotonic() < deadline:
        try:
            if _call(port, "CreateTable", body).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the router did not come up")


def measure(workers: int, seconds: int, scratch: Path) -> dict[str, float]:
    path, port = scenario_file(workers, seconds, scratch)
    out = scratch / f"w{workers}"
    cli = str(Path(sys.executable).parent / "cascadesim")
    run = subprocess.Popen([cli, "run", str(path), "--out", str(out)], stdout=subprocess.DEVNULL)
    try:
        _wait_for_table(port, time.monotonic() + 20)
        script = scratch / "mix.lua"
        script.write_text(WRK_SCRIPT)
        wrk = ["wrk", "-t1", "-c64", f"-d{seconds}s", "-s", str(script), f"http://127.0.1.1:{port}/"]
        subprocess.run(wrk, check=True, capture_output=True, timeout=seconds + 30)
        run.wait(timeout=60)
    finally:
        if run.poll() is None:
            run.terminate()
            run.wait(timeout=30)
    (directory,) = out.iterdir()
    rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader((directory / "timeseries.csv").open())]
    busy = [r for r in rows if r["dynamodb_arrivals"] > 0][2:-2]
    flagged = {id(r): flag for r, flag in zip(rows, saturated_rows(rows), strict=True)}
    lags = [r["harness_cloud_lag_ms"] for r in busy]
    goodput = statistics.mean(r["dynamodb_completed"] for r in busy)
    return {
        "capacity": workers / SERVICE_TIME,
        "goodput": goodput,
        "lag_p50": statistics.median(lags),
        "lag_max": max(lags),
        "cpu": statistics.mean(r["harness_cloud_cpu"] for r in busy),
        "saturated": sum(flagged[id(r)] for r in busy),
        "seconds": len(busy),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4, 8, 16, 64])
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="live-capacity-"))
    print(f"{'modelled capacity':>24} {'goodput':>9} {'ratio':>6} {'lag p50':>8} {'lag max':>8} {'cpu':>5} saturated")
    for workers in args.workers:
        m = measure(workers, args.seconds, scratch)
        ratio = m["goodput"] / m["capacity"]
        print(
            f"{m['capacity']:>9,.0f} req/s ({workers:>2} workers) {m['goodput']:>7,.0f}/s {ratio:>6.2f} "
            f"{m['lag_p50']:>6.1f}ms {m['lag_max']:>6.0f}ms {m['cpu']:>5.0%} {m['saturated']:.0f} of {m['seconds']} s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
