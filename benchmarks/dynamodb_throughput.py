"""Benchmark (not a test): the mock DynamoDB's GetItem/PutItem throughput against moto's server mode.

Both servers run in their own processes on loopback and are driven by the same client, in the same run, with
the same 50/50 GetItem/PutItem mix over 1,000 keys. The mock's capacity model is set wide open (100,000 workers,
no service time) so that only the implementation is measured. Run:

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python -m benchmarks.dynamodb_throughput

Options: --seconds (per server, default 10), --concurrency (in-flight requests, default 32), --clients (client
processes, default 2).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import trio
from hdrh.histogram import HdrHistogram

from tests.helpers import free_port

HEADERS = {
    "content-type": "application/x-amz-json-1.0",
    # moto reads the region from the SigV4 credential scope; the mock accepts any signature.
    "authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251020/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0",
    "x-amz-date": "20251020T064800Z",
}
KEYS = 1000


def call(client: httpx.Client, url: str, operation: str, body: dict[str, object]) -> httpx.Response:
    return client.post(
        url, content=json.dumps(body), headers={**HEADERS, "x-amz-target": f"DynamoDB_20120810.{operation}"}
    )


def prepare(url: str) -> None:
    with httpx.Client(timeout=10) as client:
        deadline = time.monotonic() + 30
        while True:
            try:
                call(client, url, "ListTables", {})
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        response = call(
            client,
            url,
            "CreateTable",
            {
                "TableName": "bench",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
        )
        response.raise_for_status()
        for n in range(KEYS):
            call(client, url, "PutItem", {"TableName": "bench", "Item": item(n, 0)}).raise_for_status()


def item(n: int, version: int) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"key-{n:05d}"}, "version": {"N": str(version)}, "payload": {"S": "x" * 200}}


def drive(url: str, seconds: float, concurrency: int, seed: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """One client process: `concurrency` trio tasks, each with its own keep-alive connection."""

    async def main() -> None:
        rng = random.Random(seed)
        histogram = HdrHistogram(1, 60_000_000, 2)
        counts = {"ok": 0, "error": 0}
        stop_at = trio.current_time() + seconds

        async def worker() -> None:
            async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=1)) as client:
                version = 0
                while trio.current_time() < stop_at:
                    n = rng.randrange(KEYS)
                    if rng.random() < 0.5:
                        operation, body = "GetItem", {"TableName": "bench", "Key": {"pk": {"S": f"key-{n:05d}"}}}
                    else:
                        version += 1
                        operation, body = "PutItem", {"TableName": "bench", "Item": item(n, version)}
                    started = time.perf_counter()
                    try:
                        response = await client.post(
                            url,
                            content=json.dumps(body),
                            headers={**HEADERS, "x-amz-target": f"DynamoDB_20120810.{operation}"},
                        )
                        ok = response.status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    histogram.record_value(max(1, int((time.perf_counter() - started) * 1e6)))
                    counts["ok" if ok else "error"] += 1

        async with trio.open_nursery() as nursery:
            for _ in range(concurrency):
                nursery.start_soon(worker)
        results.put((counts, histogram.encode()))

    trio.run(main)


def measure(name: str, url: str, seconds: float, concurrency: int, clients: int) -> dict[str, float]:
    prepare(url)
    results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    per_client = max(1, concurrency // clients)
    processes = [
        multiprocessing.Process(target=drive, args=(url, seconds, per_client, seed, results)) for seed in range(clients)
    ]
    started = time.perf_counter()
    for p in processes:
        p.start()
    collected = [results.get(timeout=seconds + 60) for _ in processes]
    for p in processes:
        p.join(10)
    elapsed = time.perf_counter() - started
    histogram = HdrHistogram(1, 60_000_000, 2)
    ok = errors = 0
    for counts, encoded in collected:
        ok += counts["ok"]
        errors += counts["error"]
        histogram.decode_and_add(encoded)
    return {
        "requests": ok,
        "errors": errors,
        "rps": ok / seconds,
        "p50_ms": histogram.get_value_at_percentile(50) / 1000,
        "p99_ms": histogram.get_value_at_percentile(99) / 1000,
        "elapsed": elapsed,
    }


def start(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    moto = shutil.which("moto_server", path=str(bin_dir)) or shutil.which("moto_server")
    if moto is None:
        print("moto_server not found: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    mock_host, moto_host = "127.0.9.51", "127.0.9.52"
    mock_port, moto_port = free_port(mock_host), free_port(moto_host)
    servers = {
        "cascadesim mock": (
            start(
                [
                    str(bin_dir / "cascadesim"),
                    "dynamodb",
                    "--host",
                    mock_host,
                    "--port",
                    str(mock_port),
                    "--workers",
                    "100000",
                    "--queue",
                    "1000000",
                ]
            ),
            f"http://{mock_host}:{mock_port}/",
        ),
        "moto server": (start([moto, "-H", moto_host, "-p", str(moto_port)]), f"http://{moto_host}:{moto_port}/"),
    }
    figures: dict[str, dict[str, float]] = {}
    try:
        for name, (_, url) in servers.items():
            figures[name] = measure(name, url, args.seconds, args.concurrency, args.clients)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(10)
    mix = f"GetItem/PutItem 50/50, {args.concurrency} in flight from {args.clients} client processes"
    print(f"{mix}, {args.seconds:g} s each")
    print(f"{'server':<18}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for name, f in figures.items():
        print(f"{name:<18}{f['rps']:>10.0f}{f['p50_ms']:>10.2f}{f['p99_ms']:>10.2f}{int(f['errors']):>8}")
    ratio = figures["cascadesim mock"]["rps"] / figures["moto server"]["rps"]
    print(f"ratio mock/moto: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
