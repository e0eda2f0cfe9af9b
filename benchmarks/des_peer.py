"""Benchmark (not a test): cascadesim's virtual time against a plain SimPy model of the same retry storm.

The peer is the discrete-event simulator a user would otherwise write: a SimPy model of
`scenarios/retry-storm.toml`, built from the scenario's own parameters, the same load plan the virtual users get
(scenarios/config/load_plan.py) and its policy set. It models, as cascadesim does:

- the DynamoDB routers: per router `workers` slots and a FIFO queue of at most `queue_limit` waiting requests; a
  full queue answers ThrottlingException at once; a service time drawn with services.node.capacity.ServiceTime; work
  whose deadline passed is still served (wasted work) unless the policy set's server drops expired work, which
  answers 503 (services/node/capacity.py, services/dynamodb/router.py);
- the link: the virtual network's one-way latency (RunOptions' default, 0.5 ms) out and back, inside the
  attempt's timeout (services/net/virtual_network.py);
- one logical request (services/client/exchange.py): a deadline of `[load] timeout` from its start, attempts sent to a
  router picked uniformly, each with a timeout of `attempt_timeout` cut to the deadline, retried at once on a
  throttle, a 5xx or a timeout until the policy set's `max_attempts` or the deadline;
- the users (loadgen/virtual.py): loadgen.behaviour.UserLoop itself (its waits and outbox), started at the plan's
  spawn rate each second to the stages' counts, load spikes cut in, the newest stopped first when a spike ends
  (a request in flight is abandoned, unrecorded, and the servers keep its work).

It leaves out what does not change this scenario's numbers: DNS (no DNS fault here, and the users' cached answer
costs a lookup every 5 s), the Planner, the Enactors and their health checks, request bodies and the DynamoDB
operation itself (every operation takes one service time), HTTP and JSON, and the table set-up before the load. The
set-up is one visible difference: cascadesim's virtual users start once the table exists (0.33 s in, when DNS
first has the routers) and then look at the stages once a second from there, so the spike's users come and go
0.33 s after the fault's window, and the herd peak (arrivals after the window ends) takes in a third of a second
of the spike itself; the peer follows the stages on the whole second. It refuses scenarios it cannot model: other
user kinds or faults than load spikes, client policies other than immediate retries, server admission or a queue
discipline other than FIFO.

Both sides run in this process, one after the other, each timed whole with time.perf_counter: the peer (build,
run, KPIs), then `cascadesim run SCENARIO --virtual` as scenarios.run.execute.execute runs it (the cloud, the virtual
users, the run directory and its report). For each it prints the wall time, simulated seconds and attempts per
wall second, the attempts (ours: outcomes.csv's `attempts` column; the peer's: the same count of its own), and
whether the system was metastable (reports/kpis.py's definition over the scenario's own horizon,
scenarios/config/horizon.py, applied to the peer's per-second outcomes too),
then the ratio of our attempts per wall second to the peer's (the target: at least 0.6). Then each side again
as a user meets it, a whole process timed from outside: our `cascadesim run SCENARIO --virtual` command (start-up,
run, files and report) against the peer's process (`--peer-only`, start-up and model), the same ratio with those
wall times (the target: at least 0.4). The two agree
when their attempts are within 15 % and they say the same about metastability; exit status 1 if not. Run:

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python -m benchmarks.des_peer

Options: a scenario file other than scenarios/retry-storm.toml (one the peer can model), --seed N, --peer-only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import simpy

from loadgen.behaviour import SecondOutcomes, Stage, UserBehaviour, UserLoop, UserRequest, UserTask, stage_at
from reports.columns import DYNAMODB_ARRIVALS, DYNAMODB_COMPLETED, DYNAMODB_WASTED, SECOND
from reports.kpis import compute
from scenarios.config.cloud_settings import capacity_spec
from scenarios.config.horizon import horizon_of
from scenarios.config.load_plan import load_plan, spikes_of
from scenarios.config.policies import load_policy_set, policy_path
from scenarios.config.schema import LoadSpike, Scenario, load_scenario
from scenarios.run.execute import RunOptions, execute
from scenarios.run.sampler import Row, with_clients
from scenarios.run.verdict_watch import held_load
from services.event_kinds import EventKind, FaultKind
from services.events import Event
from services.node.capacity import CapacitySpec
from services.topology.cloud import rng_factory

ATTEMPTS_TOLERANCE = 0.15
TARGET_RATIO = 0.6  # our attempts per wall second against the peer's (issue 28)
TARGET_WHOLE = 0.4  # the same, each side timed as a whole process
CLI = "from scenarios.cli import main; main()"  # what the cascadesim entry point runs
KIND = "dynamodb"

Process = Generator[simpy.Event, Any, Any]


class PeerRouter:
    """One DynamoDB router: `workers` slots, a bounded FIFO queue, a service time, per-second counters."""

    def __init__(
        self, env: simpy.Environment, spec: CapacitySpec, rng: random.Random, counts: dict[str, list[int]]
    ) -> None:
        self.env = env
        self.slots = simpy.Resource(env, spec.workers)
        self.queue_limit = spec.queue_limit
        self.service_time = spec.service_time
        self.drop_expired = spec.drop_expired
        self.rng = rng
        self.counts = counts

    def serve(self, deadline: float, latency: float, reply: simpy.Event) -> Process:
        """One attempt from arrival to reply: the server goes on after its caller gave up (it never knows)."""
        env, slots, counts = self.env, self.slots, self.counts
        yield env.timeout(latency)
        counts["arrivals"][int(env.now) + 1] += 1  # the row for second N covers [N-1, N)
        if slots.count >= slots.capacity and len(slots.queue) >= self.queue_limit:
            answer = "throttled"  # Overloaded: ThrottlingException at once
        else:
            with slots.request() as slot:
                yield slot
                if self.drop_expired and env.now > deadline:
                    answer = "server_error"  # DeadlineExceeded: 503, which clients retry
                else:
                    yield env.timeout(self.service_time.sample(self.rng))
                    answer = "ok"
                    row = int(env.now) + 1
                    counts["completed"][row] += 1
                    if env.now > deadline:
                        counts["wasted"][row] += 1
        yield env.timeout(latency)
        reply.succeed(answer)


@dataclass
class Peer:
    """The model of one scenario: its routers, its users' client settings, what they saw."""

    env: simpy.Environment
    routers: list[PeerRouter]
    behaviour: UserBehaviour
    attempt_timeout: float
    max_attempts: int
    latency: float
    outcomes: SecondOutcomes

    def logical_request(self, rng: random.Random, deadline: float) -> Generator[simpy.Event, Any, tuple[int, str]]:
        """Attempts until one succeeds, `max_attempts` are spent or the deadline has come (immediate retries)."""
        env = self.env
        attempt = 0
        while True:
            attempt += 1
            reply = env.event()
            env.process(rng.choice(self.routers).serve(deadline, self.latency, reply))
            yield reply | env.timeout(min(self.attempt_timeout, deadline - env.now))
            answer = cast(str, reply.value) if reply.triggered else "timeout"
            if answer == "ok" or attempt >= self.max_attempts or env.now >= deadline:
                return attempt, answer

    def user(self, rng: random.Random) -> Process:
        loop = UserLoop(self.behaviour, rng)
        timeout = self.behaviour.timeout
        try:
            while True:
                request = loop.next_request()
                began = self.env.now
                attempts, answer = yield from self.logical_request(rng, began + timeout)
                self.outcomes.record(int(began), KIND, attempts, answer)
                yield self.env.timeout(loop.finished(request, answer))
        except simpy.Interrupt:
            return  # stopped by the stages: the request in flight is abandoned, as a cancelled virtual user's

    def users(self, stages: Sequence[Stage], spawn_rate: float, rng_for: Callable[[str], random.Random]) -> Process:
        """Keep the stages' count of users, starting at most `spawn_rate` a second, stopping the newest first."""
        running: list[simpy.Process] = []
        while (stage := stage_at(stages, self.env.now)) is not None:
            wanted, budget = stage.users.get(KIND, 0), spawn_rate
            while len(running) < wanted and budget >= 1:
                budget -= 1
                running.append(self.env.process(self.user(rng_for(f"users-{KIND}-{len(running) + 1}"))))
            while len(running) > wanted:
                running.pop().interrupt()
            yield self.env.timeout(1.0)


def modelled(scenario: Scenario) -> None:
    """Raise SystemExit unless the peer models everything in `scenario` that changes its figures."""
    policy = load_policy_set(policy_path(scenario.policy))
    client, server = policy.client.settings(), policy.server.settings()
    problems = []
    if scenario.load is None or set(scenario.load.mix) - {KIND}:
        problems.append("the peer models DynamoDB users only")
    if any(not isinstance(f, LoadSpike) for f in scenario.faults):
        problems.append("the peer models load_spike faults only")
    if client.retry not in ("none", "immediate") or client.limit != "none":
        problems.append(f"the peer models immediate retries only, not {client.retry} / limit {client.limit}")
    if server.admission != "none" or server.discipline != "fifo":
        problems.append(f"the peer models no admission and a FIFO queue, not {server.admission} / {server.discipline}")
    if problems:
        sys.exit(f"{scenario.name} ({scenario.policy}): " + "; ".join(problems))


def _unbuilt(task: UserTask) -> UserTask:
    """The same task with its request built once: every operation takes one service time, so its body is moot."""
    request = UserRequest("POST", "/", {}, b"", task.name)
    return UserTask(task.name, task.weight, lambda rng: request)


def run_peer(scenario: Scenario) -> tuple[SecondOutcomes, dict[str, Any]]:
    """The SimPy model run for the scenario's duration: its outcomes, and the KPIs computed from them."""
    plan = load_plan(scenario)  # the stages (load spikes cut in), spawn rate, timeouts and client policy
    server = load_policy_set(policy_path(scenario.policy)).server.settings()
    # As services/topology/cloud.py builds its routers: the scenario's capacity, with the policy set's drop_expired.
    spec = dataclasses.replace(capacity_spec(scenario.dynamodb.capacity), drop_expired=server.drop_expired)
    behaviour = plan.behaviours()[KIND]
    behaviour = dataclasses.replace(behaviour, tasks=tuple(_unbuilt(task) for task in behaviour.tasks))
    env = simpy.Environment()
    rng_for = rng_factory(scenario.seed)
    rows = int(scenario.duration) + 2
    counts = {name: [0] * rows for name in ("arrivals", "completed", "wasted")}
    routers = [PeerRouter(env, spec, rng_for(f"router-{i}"), counts) for i in range(1, scenario.dynamodb.routers + 1)]
    peer = Peer(
        env,
        routers,
        behaviour,
        behaviour.attempt_timeout or behaviour.timeout,
        (plan.client.max_attempts or 3) if plan.client.retry == "immediate" else 1,
        RunOptions().latency,
        SecondOutcomes(),
    )
    env.process(peer.users(plan.stages, plan.spawn_rate, rng_for))
    env.run(until=scenario.duration)
    series: list[Row] = [
        {
            SECOND: s,
            DYNAMODB_ARRIVALS: counts["arrivals"][s],
            DYNAMODB_COMPLETED: counts["completed"][s],
            DYNAMODB_WASTED: counts["wasted"][s],
        }
        for s in range(1, int(scenario.duration) + 1)
    ]
    events = []
    for start, end, factor in spikes_of(scenario):
        data = {"fault": FaultKind.LOAD_SPIKE, "start": start, "end": end}
        events.append(Event(start, EventKind.FAULT_START, "faults", f"load spike: {factor}x the users", data))
        events.append(Event(end, EventKind.FAULT_END, "faults", "load back to its stages", data))
    return peer.outcomes, compute(with_clients(series, peer.outcomes), events, horizon=horizon_of(scenario))


@dataclass(frozen=True)
class Side:
    name: str
    wall: float
    simulated: float
    attempts: int
    kpis: dict[str, Any]


def peer_side(scenario: Scenario, until: float | None = None) -> Side:
    """The peer, to the scenario's end or to `until` (as far as our run went to decide its verdict, its last load
    stage held that long: scenarios/run/verdict_watch.py)."""
    if until is not None and until != scenario.duration:
        scenario = held_load(scenario, until).model_copy(update={"duration": until})
    started = time.perf_counter()
    outcomes, kpis = run_peer(scenario)
    wall = time.perf_counter() - started
    return Side("SimPy peer", wall, scenario.duration, outcomes.totals()["attempts"], kpis)


def our_side(scenario: Scenario) -> Side:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = execute(scenario, Path(tmp) / "run", RunOptions(virtual=True))
        wall = time.perf_counter() - started
        if result.problems or result.interrupted:
            sys.exit(f"our run failed: {result.problems or 'interrupted'}")
        outcomes = SecondOutcomes.from_csv((result.directory / "outcomes.csv").read_text(encoding="utf-8"))
        kpis = json.loads((result.directory / "kpis.json").read_text(encoding="utf-8"))["kpis"]
        simulated = len((result.directory / "timeseries.csv").read_text(encoding="utf-8").splitlines()) - 1
    return Side("cascadesim --virtual", wall, simulated, outcomes.totals()["attempts"], kpis)


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def report(scenario: Scenario, sides: Sequence[Side]) -> bool:
    """Print the sides side by side; True when they agree."""
    figures: list[tuple[str, Callable[[Side], str]]] = [
        ("wall time", lambda s: f"{s.wall:.2f} s"),
        ("simulated s / wall s", lambda s: f"{s.simulated / s.wall:,.1f}"),
        ("attempts", lambda s: f"{s.attempts:,}"),
        ("attempts / wall s", lambda s: f"{s.attempts / s.wall:,.0f}"),
        ("attempts per request", lambda s: _times(s.kpis["retry_amplification"])),
        ("wasted work", lambda s: _share(s.kpis["wasted_share"])),
        ("herd peak (arrivals)", lambda s: _times(s.kpis["peak_dynamodb_over_baseline"])),
        ("metastable", lambda s: _yes_no(s.kpis["metastable"])),
    ]
    print(f"{scenario.name} ({scenario.policy}), {sides[0].simulated:g} simulated s, seed {scenario.seed}")
    print(f"{'':22}" + "".join(f"{s.name:>22}" for s in sides))
    for title, show in figures:
        print(f"{title:22}" + "".join(f"{show(s):>22}" for s in sides))
    if len(sides) < 2:
        return True
    ours, peer = sides
    ratio = (ours.attempts / ours.wall) / (peer.attempts / peer.wall)
    print(f"ratio of our attempts per wall second to the peer's: {ratio:.3f}   (target: at least {TARGET_RATIO})")
    gap = abs(ours.attempts - peer.attempts) / peer.attempts
    same = ours.kpis["metastable"] == peer.kpis["metastable"]
    agree = gap <= ATTEMPTS_TOLERANCE and same
    print(
        f"attempts differ by {gap:.1%} (tolerance {ATTEMPTS_TOLERANCE:.0%}); "
        f"metastable: {'the same' if same else 'NOT the same'}: {'agree' if agree else 'DO NOT AGREE'}"
    )
    return agree


def whole_processes(scenario_file: str, seed: int | None, until: float, ours: Side, peer: Side) -> None:
    """Each side as a user meets it: our whole `cascadesim run … --virtual` command (start-up, the run, its files
    and report) against the peer's whole process (start-up, the model, its KPIs), each timed from the outside."""
    seed_args = [] if seed is None else ["--seed", str(seed)]
    with tempfile.TemporaryDirectory() as tmp:
        ours_command = [sys.executable, "-c", CLI, "run", scenario_file, "--virtual", "--out", tmp]
        peer_command = [sys.executable, "-m", "benchmarks.des_peer", scenario_file, "--peer-only"]
        peer_command += ["--until", str(until)]
        ours_command += seed_args
        peer_command += seed_args
        walls = []
        for command in (ours_command, peer_command):
            started = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - started)
    ratio = (ours.attempts / walls[0]) / (peer.attempts / walls[1])
    print(f"whole processes: `cascadesim run {scenario_file} --virtual` {walls[0]:.2f} s, the peer's {walls[1]:.2f} s")
    print(
        f"ratio of our attempts per wall second to the peer's, whole processes: {ratio:.3f}"
        f"   (target: at least {TARGET_WHOLE})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/retry-storm.toml")
    parser.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    parser.add_argument("--peer-only", action="store_true", help="run only the SimPy peer")
    parser.add_argument("--until", type=float, default=None, help="the peer's simulated seconds (default: the file's)")
    parser.add_argument("--no-whole", action="store_true", help="skip timing the two sides as whole processes")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    modelled(scenario)
    if args.peer_only:
        sides = [peer_side(scenario, args.until)]
    else:
        ours = our_side(scenario)  # first: a virtual run goes on past its end until its verdict is decided
        sides = [ours, peer_side(scenario, ours.simulated)]
    agree = report(scenario, sides)
    if len(sides) == 2 and not args.no_whole:
        whole_processes(args.scenario, args.seed, sides[0].simulated, *sides)
    sys.exit(0 if agree else 1)


if __name__ == "__main__":
    main()
