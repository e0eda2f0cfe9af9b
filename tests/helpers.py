"""What the tests share: scenarios as models, loopback ports, the processes a run starts, and its run directory.

Scenarios are changed as models, never as TOML text: load one (`shipped`), copy it with changes (`changed`,
`on_free_ports`), and where a subprocess or the CLI needs a file, write it with the runs' own writer
(`scenario_file`, which is `scenarios.run.execute.write_scenario`).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import trio
from pydantic import BaseModel

from loadgen.virtual import VirtualUsers
from scenarios.config.free_ports import free_port as free_port  # re-exported: the tests' helpers, the plugin's too
from scenarios.config.free_ports import on_free_ports as on_free_ports
from scenarios.config.load_plan import load_plan
from scenarios.config.schema import Scenario, load_scenario
from scenarios.run.execute import write_scenario
from scenarios.run.runner import run_scenario
from services import runtime
from services.dns.planner import HealthProbe
from services.event_kinds import EventKind
from services.events import Event, EventLog, Sink
from services.net.http import Routes
from services.net.network import LiveNetwork
from services.net.virtual_network import VirtualNetwork
from services.runtime.kernel import run_in_virtual_time
from services.topology.cloud import Cloud

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("cascadesim")

M = TypeVar("M", bound=BaseModel)


# Scenarios


def shipped(name: str) -> Scenario:
    """scenarios/NAME.toml, loaded (from any working directory)."""
    return load_scenario(ROOT / "scenarios" / f"{name}.toml")


def changed(model: M, **changes: Any) -> M:
    """A copy of `model` with `changes` (field names, e.g. `lambda_`); a dict given for a section changes a copy
    of that section, nested sections too, so `changed(s, dns={"ttl": 1})` keeps the section's other keys.

    pydantic's model_copy does not validate, so a misspelt field is refused here rather than silently added."""
    update: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in type(model).model_fields:
            raise KeyError(f"{type(model).__name__} has no field {key!r}")
        current = getattr(model, key)
        if isinstance(value, dict) and isinstance(current, BaseModel):
            value = changed(current, **value)
        update[key] = value
    return model.model_copy(update=update)


def scenario_file(scenario: Scenario, directory: Path) -> Path:
    """`scenario` written as DIRECTORY/NAME.toml, the way a run writes its resolved scenario.toml."""
    path = directory / f"{scenario.name}.toml"
    write_scenario(scenario, path)
    return path


# Loopback ports


def assert_port_free(address: tuple[str, int], kind: socket.SocketKind) -> None:
    """Nothing is bound there any more: a new server could take the port now.

    TCP uses SO_REUSEADDR like every server (Hypercorn included), so connections in TIME_WAIT do not count, but a
    socket still listening does (Linux refuses that bind). UDP has no TIME_WAIT and binds plainly.
    """
    with socket.socket(socket.AF_INET, kind) as s:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(address)
        if kind == socket.SOCK_STREAM:
            s.listen()


def assert_scenario_ports_free(scenario: Scenario) -> None:
    """Every port the scenario's cloud listens on (DNS, the DynamoDB routers, EC2 and Lambda) is free again."""
    assert_port_free(("127.0.0.1", scenario.dns.authority_port), socket.SOCK_DGRAM)
    assert_port_free(("127.0.0.1", scenario.dns.resolver_port), socket.SOCK_DGRAM)
    for index in range(1, scenario.dynamodb.routers + 1):
        assert_port_free((f"127.0.1.{index}", scenario.dynamodb.port), socket.SOCK_STREAM)
    if scenario.ec2 is not None:
        assert_port_free(("127.0.2.1", scenario.ec2.port), socket.SOCK_STREAM)
    if scenario.lambda_ is not None:
        assert_port_free(("127.0.3.1", scenario.lambda_.port), socket.SOCK_STREAM)


# Processes


def eventually(condition: Callable[[], bool], timeout: float) -> bool:
    """Whether `condition` holds within `timeout` seconds of wall time (asked every 0.1 s)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def reap(process: subprocess.Popen[Any]) -> None:
    """Kill `process` if it still runs, and wait for it (closing its pipes, if it has any)."""
    if process.poll() is None:
        process.kill()
    process.communicate()


def locust_processes(under: Path) -> list[str]:
    """Locust processes started for a run directory below `under` (told apart by their CASCADESIM_RUN_DIR, so
    other Locust runs on the machine do not count)."""
    found = subprocess.run(["pgrep", "-af", "loadgen/locustfile.py"], capture_output=True, text=True).stdout
    ours = []
    for line in found.splitlines():
        try:
            environ = Path(f"/proc/{line.split()[0]}/environ").read_bytes()
        except OSError:
            continue  # gone meanwhile
        if f"CASCADESIM_RUN_DIR={under}".encode() in environ:
            ours.append(line)
    return ours


# Run directories


def read_json(path: Path) -> Any:
    """A run's meta.json, kpis.json or comparison.json."""
    return json.loads(path.read_text(encoding="utf-8"))


def event_records(directory: Path) -> list[dict[str, Any]]:
    """DIRECTORY/events.jsonl as plain records, as far as it has been written (none before it exists)."""
    path = directory / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def only_run(out: Path) -> Path:
    """The one run directory that a `cascadesim run --out OUT` left."""
    (directory,) = out.iterdir()
    return directory


# Runs in memory


@dataclass
class VirtualRun:
    """A virtual run kept in memory: the cloud as the run left it, every event, and the virtual users."""

    cloud: Cloud
    events: EventLog
    users: VirtualUsers | None


def run_virtual(
    scenario: Scenario,
    *,
    duration: float | None = None,
    latency: float = 0.0005,
    probe: HealthProbe | None = None,
    sinks: tuple[Sink, ...] = (),
    load: bool = True,
) -> VirtualRun:
    """Run a scenario in virtual time, in memory; the same scenario and seed give the same events every time.

        The cloud and its fault timeline as a run drives them (`run_scenario`), without the run directory, sampler and
        report of `execute`: for tests that look at the cloud's state and events themselves.
    With `load` (and a [load] section), virtual users play the clients that Locust plays in live runs.
    """

    async def main() -> VirtualRun:
        events = EventLog(runtime.current_time)
        for sink in sinks:
            events.subscribe(sink)
        users: list[VirtualUsers] = []

        async def clients(cloud: Cloud) -> None:
            users.append(VirtualUsers.for_plan(load_plan(scenario), cloud))
            await users[0].run(start=runtime.current_time() - events.now())

        wanted = clients if load and scenario.load is not None else None
        cloud = await run_scenario(
            scenario, VirtualNetwork(latency), events, duration=duration, probe=probe, clients=wanted
        )
        return VirtualRun(cloud, events, users[0] if users else None)

    return run_in_virtual_time(main)


def of_kind(log: EventLog, *kinds: EventKind) -> list[Event]:
    """The events of these kinds, in order."""
    return [e for e in log.events if e.kind in kinds]


@contextmanager
def serve_routes(routes: Routes, host: str) -> Iterator[str]:
    """A node's routes served live on `host` (a port the kernel picked) from a trio thread, so that blocking code
    such as boto3 can call it; yields its URL and stops the server on leaving."""
    port = free_port(host)
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        stop = trio.Event()
        holder["stop"], holder["token"] = stop, trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            await nursery.start(LiveNetwork().serve_http, routes, (host, port))
            ready.set()
            await stop.wait()
            nursery.cancel_scope.cancel()

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    if not ready.wait(20):
        raise RuntimeError(f"the node on {host} did not start")
    try:
        yield f"http://{host}:{port}"
    finally:
        trio.from_thread.run_sync(holder["stop"].set, trio_token=holder["token"])
        thread.join(20)
