"""Every server of the cloud fed malformed requests, in its real topology: the EC2-like API, Lambda, a declared
service (STS, both its protocols) and an NLB's nodes, 1,000 requests each, through the cloud's own network in
virtual time. Each answer is the error the service sends (a 4xx with its code; a 5xx only where the service itself
means one: EC2's InsufficientInstanceCapacity, a declared call that failed), never a 500 from a bug of ours, and
every server still answers a well-formed request afterwards."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

from scenarios.config.schema import Scenario
from scenarios.run.runner import run_scenario
from services import runtime
from services.event_kinds import EventKind
from services.events import EventLog
from services.net.virtual_network import VirtualNetwork
from services.runtime.kernel import run_in_virtual_time
from services.topology.cloud import Cloud
from tests.helpers import changed, shipped

REQUESTS = 1000
HUGE = 1 << 20  # a 1-MiB body now and then


def scenario() -> Scenario:
    """cascade-live's cloud with the replay's STS behind an NLB, no faults and no load: the servers meet only the
    junk below."""
    replay = shipped("aws-2025-10-19")
    sts = next(s for s in replay.services if s.name == "sts")
    return changed(shipped("cascade-live"), services=(sts,), faults=(), operator=(), load=None, duration=600)


def junk_body(rng: random.Random) -> bytes:
    kind = rng.randrange(9)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    if kind == 1:
        return b'{"Action": "RunInstances", "MinCount": '[: rng.randrange(1, 40)]
    if kind == 2:
        return json.dumps(rng.choice([[], 7, "x", None, True, 1.5, [1, 2]])).encode()
    if kind == 3:
        value: Any = rng.choice([None, -1, 0, 10**30, "1", True, [], {}, "é" * 3, 1e308, -0.0])
        key = rng.choice(["Action", "MinCount", "InstanceIds", "FunctionName", "Payload", "x"])
        return json.dumps({key: value}).encode()
    if kind == 4:
        action = rng.choice(["RunInstances", "DescribeInstances", "TerminateInstances", "Nope", ""])
        return json.dumps(
            {
                "Action": action,
                "MinCount": rng.choice([1, 0, 101, "2", None, 2.5]),
                "InstanceIds": rng.choice([None, [], [1], ["i-x"], "i-1", [None]]),
            }
        ).encode()
    if kind == 5:
        return b"x" * (HUGE if rng.random() < 0.02 else rng.randrange(1, 4096))
    if kind == 6:
        return b"Action=" + rng.choice([b"AssumeRole", b"GetCallerIdentity", b"%ff", b""]) + b"&Version=2011-06-15"
    if kind == 7:
        return b""
    return json.dumps({"a": {"b": [{"c": "d" * rng.randrange(100)}] * rng.randrange(5)}}).encode()


def junk_headers(rng: random.Random) -> dict[str, str]:
    headers = {"user-agent": rng.choice(["cascadesim", "Boto3/1.44", ""])}
    if rng.random() < 0.7:
        headers["content-type"] = rng.choice(
            ["application/json", "application/x-www-form-urlencoded", "text/plain", "", "application/x-amz-json-1.0"]
        )
    if rng.random() < 0.5:
        headers["x-deadline"] = rng.choice(["nan", "-1", "1e999", "abc", "0", "12.5", "", "inf", "1" * 400])
    if rng.random() < 0.2:
        headers["x-amz-invocation-type"] = rng.choice(["Event", "DryRun", "RequestResponse", "junk"])
    return headers


def junk_path(rng: random.Random, paths: list[str]) -> tuple[str, str]:
    method = rng.choice(["POST"] * 6 + ["GET", "PUT", "DELETE"])
    path = rng.choice(paths) if rng.random() < 0.8 else rng.choice(["/", "/x", "/%00", "//", "/" + "a" * 300])
    return method, path


def test_every_server_answers_a_thousand_malformed_requests_as_its_service_would() -> None:
    rng = random.Random(30)
    seen: dict[str, Counter[int]] = {}
    bugs: list[str] = []
    healthy: dict[str, int] = {}

    async def main() -> EventLog:
        events = EventLog(runtime.current_time)

        async def attack(cloud: Cloud) -> None:
            assert cloud.ec2 is not None and cloud.lambda_ is not None and cloud.nlbs
            await runtime.sleep(15)  # DWFM's leases, the NLB's targets
            nlb = cloud.nlbs[0]
            servers = {
                "ec2-api": (cloud.ec2.address, ["/"]),
                "lambda": (
                    cloud.lambda_.address,
                    [
                        "/2015-03-31/functions/orders-handler/invocations",
                        "/2015-03-31/functions/x/invocations",
                        "/health",
                    ],
                ),
                "sts (declared)": (nlb.targets[0].node.address, ["/AssumeRole", "/GetCallerIdentity", "/", "/Nope"]),
                "sts NLB node": (nlb.nodes[0].address, ["/AssumeRole", "/", "/Nope", "/health"]),
            }
            http = cloud.network.http_client(timeout=30)
            for name, ((host, port), paths) in servers.items():
                counts = seen.setdefault(name, Counter())
                for _ in range(REQUESTS):
                    method, path = junk_path(rng, paths)
                    reply = await http.request(
                        method, f"http://{host}:{port}{path}", headers=junk_headers(rng), content=junk_body(rng)
                    )
                    counts[reply.status_code] += 1
                    if reply.status_code >= 500 and not _meant(name, reply.status_code, reply.content):
                        bugs.append(f"{name} {method} {path}: {reply.status_code} {reply.content[:200]!r}")
                well_formed = {
                    "ec2-api": ("POST", "/", b'{"Action": "DescribeInstances"}'),
                    "lambda": ("GET", "/health", b""),
                    "sts (declared)": ("POST", "/AssumeRole", b"{}"),
                    "sts NLB node": ("GET", "/health", b""),
                }[name]
                reply = await http.request(
                    well_formed[0],
                    f"http://{host}:{port}{well_formed[1]}",
                    headers={"content-type": "application/json"},
                    content=well_formed[2],
                )
                healthy[name] = reply.status_code
            await http.aclose()

        await run_scenario(scenario(), VirtualNetwork(0.0005), events, duration=600, clients=attack)
        return events

    events = run_in_virtual_time(main)
    internal = [e.data for e in events.events if e.kind == EventKind.INTERNAL_ERROR]
    print({name: dict(sorted(counts.items())) for name, counts in seen.items()})
    assert {name: sum(c.values()) for name, c in seen.items()} == dict.fromkeys(seen, REQUESTS)
    assert len(seen) == 4
    assert not bugs, bugs[:5]
    assert not internal, internal[:3]
    assert healthy == dict.fromkeys(seen, 200)


def _meant(server: str, status: int, body: bytes) -> bool:
    """A 5xx the service means: EC2's capacity and limit codes, a declared call that failed, an NLB with no
    target in service, Lambda's own errors (its function's dependency); never Starlette's bare 500 of a bug."""
    if body.startswith(b"Internal Server Error") or b"InternalError" in body or b"ServiceException" in body:
        return False
    return status in (500, 502, 503) and body[:1] in (b"{", b"<")
