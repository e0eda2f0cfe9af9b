"""Locust users built from loadgen/behaviour.py, for live runs (this module runs only inside Locust's processes).

Configuration comes from the environment, set by `cascadesim run` and `cascadesim serve` (or by hand):
    CASCADESIM_LOAD_PLAN  the run's load plan as JSON (loadgen/plan.py): ports, resolver, mix, stages, client
                          policy; `cascadesim serve` writes it as <run>/load-plan.json
    CASCADESIM_RUN_DIR    where per-second outcomes go (outcomes-<pid>.csv)
    CASCADESIM_USERS      a constant total of users instead of the plan's stages
    CASCADESIM_UNTIL      stop this many seconds into the run (default: the plan's duration)
    CASCADESIM_CLOCK      "OFFSET START": the cloud's clock is time.perf_counter() + OFFSET and the run began at
                          START on it. Set by cascadesim on this machine; without it the run starts when Locust does
                          and no x-deadline is sent.

The load shape follows the plan's stages on the run's own clock, so stage times, fault times and the per-second
outcomes line up. Users of each kind are Locust user classes weighted by the plan's mix.

A request is the same logical request as everywhere else (services/client/exchange.py: policy, resolution, address,
headers, classification, retries); this module is only its gevent engine: the shared resolver asked over a UDP
socket through the same caching stub logic (services/dns/stub.py), FastHttpUser's client, gevent's sleep.
Each attempt is reported to Locust's statistics under the task's name, its failure named by class ("dns",
"throttled", "timeout", …), so attempts per second, the herd, show in Locust's own charts and CSV.
"""

from __future__ import annotations

import json
import math
import os
import random
import socket
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import gevent
from locust import FastHttpUser, LoadTestShape, events, task
from locust.runners import MasterRunner

from loadgen.behaviour import CUSTOMER_TABLE_DEFINITION, SecondOutcomes, UserBehaviour, UserLoop, classify, stage_at
from loadgen.load_gauge import LoadGauge
from loadgen.plan import LoadPlan
from services.client.exchange import NoReply, Perform, Reply, Request, Resolve, Result, Send, Step, exchange, outcome_of
from services.dns.stub import Found, StubAnswer, StubCache, lookup
from services.dynamodb.calls import operation, until_done_steps
from services.errors import DnsError
from services.runtime.sansio import drive
from services.throttling.settings import bind_service, client_policy

PLAN = LoadPlan.from_json(Path(os.environ.get("CASCADESIM_LOAD_PLAN", "load-plan.json")).read_text())
RUN_DIR = Path(os.environ.get("CASCADESIM_RUN_DIR", "."))
OUTCOMES = SecondOutcomes()
HARNESS: list[tuple[int, float, float]] = []  # (second, lag ms, cpu) of this process, each second
BEHAVIOURS = PLAN.behaviours()
STAGES = PLAN.stages_until(
    float(os.environ.get("CASCADESIM_UNTIL", PLAN.duration)),
    int(os.environ["CASCADESIM_USERS"]) if os.environ.get("CASCADESIM_USERS") else None,
)
T = TypeVar("T")


def _clock() -> tuple[float | None, float]:
    """The cloud clock's offset from time.perf_counter() (None when unknown), and the run's start on it."""
    given = os.environ.get("CASCADESIM_CLOCK")
    if given:
        offset, start = (float(part) for part in given.split())
        return offset, start
    return None, time.perf_counter()


CLOCK_OFFSET, RUN_START = _clock()


def cloud_now() -> float:
    return time.perf_counter() + (CLOCK_OFFSET or 0.0)


def elapsed() -> float:
    """Seconds since the run started: the scenario's own time line."""
    return cloud_now() - RUN_START


class GeventStub:
    """The shared resolver's caching stub for this process (one per process, as a host's caching daemon)."""

    def __init__(self, resolver: tuple[str, int], rng: random.Random, timeout: float = 1.0) -> None:
        self.resolver = resolver
        self.rng = rng
        self.timeout = timeout
        self.cache = StubCache()

    def find(self, name: str) -> Found:
        kept = self.cache.get(name, cloud_now())
        if kept is not None:
            return kept
        answer = self._ask(name)
        self.cache.keep(name, answer, cloud_now())
        return answer.found

    def _ask(self, name: str) -> StubAnswer:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # gevent's, once Locust has patched
            sock.settimeout(self.timeout)

            def exchange(query: bytes) -> bytes | OSError | None:
                try:
                    sock.connect(self.resolver)
                    sock.send(query)
                    return sock.recv(65535)
                except TimeoutError:
                    return None
                except OSError as exc:  # refused (ICMP port unreachable) or unreachable
                    return exc

            return drive(lookup(name, self.rng), exchange)


STUB = GeventStub(PLAN.resolver, random.Random(f"{PLAN.seed}:{os.getpid()}:stub"))


class CascadeUser(FastHttpUser):
    abstract = True
    host = "http://127.0.0.1"
    behaviour: ClassVar[UserBehaviour]

    def on_start(self) -> None:
        self.rng = random.Random(f"{PLAN.seed}:{os.getpid()}:{id(self)}")
        self.policy = client_policy(PLAN.client, self.rng)
        bind_service(self.policy, self.behaviour.service)
        self.loop = UserLoop(self.behaviour, self.rng)
        self.pause = 0.0

    def wait_time(self) -> float:
        return self.pause

    @task
    def one_request(self) -> None:
        behaviour = self.behaviour
        work = self.loop.next_request()
        began = cloud_now()
        request = Request(behaviour.service, behaviour.port, work.method, work.path, work.headers, work.body)
        result = self.drive(self._exchange(request, began + behaviour.timeout), work.name)
        outcome_class = classify(result.outcome)
        OUTCOMES.record(int(began - RUN_START), behaviour.name, result.attempts, outcome_class)
        body = result.reply.body if result.reply is not None else b""
        self.pause = self.loop.finished(work, outcome_class, body)

    def _exchange(self, request: Request, deadline: float | None) -> Generator[Step, Any, Result]:
        behaviour = self.behaviour
        return exchange(
            request,
            self.policy.new_call(),
            self.rng,
            cloud_now,
            attempt_timeout=behaviour.attempt_timeout or behaviour.timeout,
            deadline=deadline,
            send_deadline=CLOCK_OFFSET is not None,  # the servers' clock is known on this machine only
        )

    def drive(self, steps: Generator[Step, Any, T], name: str) -> T:
        """Run a sans-I/O client generator (services/client/exchange.py) to its end with gevent's I/O; each attempt is
        reported to Locust under `name`."""

        def perform(step: Step) -> Any:
            if isinstance(step, Resolve):
                return self._resolve(step.name, name)
            if isinstance(step, Send):
                return self._send(step, name)
            if isinstance(step, Perform):
                return self.drive(self._exchange(step.request, step.deadline), name)
            gevent.sleep(step.seconds)
            return None

        return drive(steps, perform)

    def _resolve(self, service: str, name: str) -> Found:
        started = time.perf_counter()
        found = STUB.find(service)
        if isinstance(found, DnsError):
            events.request.fire(
                request_type="DNS",
                name=name,
                response_time=(time.perf_counter() - started) * 1000,
                response_length=0,
                exception=Exception("dns"),
                context={},
            )
        return found

    def _send(self, send: Send, name: str) -> Reply | NoReply:
        started = time.perf_counter()
        timeout = max(0.01, send.timeout)  # geventhttpclient takes 0 as "no timeout"
        body: Any = send.body  # geventhttpclient sends bytes as they are; Locust's annotation says str or dict
        with self.client.request(
            send.method, send.url, data=body, headers=send.headers, name=name, catch_response=True, timeout=timeout
        ) as response:
            answer: Reply | NoReply
            if not response.status_code:
                waited = time.perf_counter() - started
                timed_out = isinstance(response.error, TimeoutError | gevent.Timeout) or waited >= timeout - 0.01
                answer = NoReply(f"timed out after {timeout:.3f} s" if timed_out else f"unreachable: {response.error}")
            else:
                answer = Reply(response.status_code, response.headers or {}, response.content or b"", response)
            outcome = outcome_of(1, answer)
            if outcome.ok:
                response.success()
            else:
                response.failure(classify(outcome))
        return answer


def _user_class(behaviour: UserBehaviour, weight: int) -> type[CascadeUser]:
    return type(
        f"{behaviour.name.capitalize()}User",
        (CascadeUser,),
        {"behaviour": behaviour, "weight": weight, "abstract": False, "__module__": __name__},
    )


for _kind, _weight in PLAN.mix.items():
    globals()[f"{_kind.capitalize()}User"] = _user_class(BEHAVIOURS[_kind], _weight)


class ScenarioShape(LoadTestShape):
    """The plan's stages on the run's clock; Locust stops when the last one ends."""

    def tick(self) -> tuple[int, float] | None:
        now = elapsed()
        stage = stage_at(STAGES, now)
        if stage is None:
            return None
        return round(sum(stage.users.values()) * CONSOLE_LOAD.factor(now)), PLAN.spawn_rate


class ConsoleLoad:
    """The users an operator at the console added or took away (scenarios/run/operator_console.py): windows of
    (start, end, factor) on the run's clock, in RUN_DIR/console-load.json (RUN_DIR: the run directory's locust/),
    read again when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: float | None = None
        self._windows: list[tuple[float, float, float]] = []

    def factor(self, now: float) -> float:
        try:
            changed = self.path.stat().st_mtime
        except OSError:
            return 1.0
        if changed != self._seen:
            try:
                self._windows = [(float(a), float(b), float(f)) for a, b, f in json.loads(self.path.read_text())]
                self._seen = changed
            except (OSError, ValueError, TypeError):
                pass  # being written: read it at the next tick
        return math.prod(f for a, b, f in self._windows if a <= now < b)


CONSOLE_LOAD = ConsoleLoad(RUN_DIR / "console-load.json")


@events.test_start.add_listener
def _create_customer_table(environment: Any, **kwargs: Any) -> None:
    """The DynamoDB users' table, created once per process before the users start (it may already exist), tried
    up to 30 times a second apart, as the virtual users do."""
    dynamodb = BEHAVIOURS.get("dynamodb")
    if dynamodb is None or isinstance(environment.runner, MasterRunner):
        return
    user = type("SetupUser", (CascadeUser,), {"behaviour": dynamodb, "abstract": False})(environment)
    user.on_start()
    create = operation(dynamodb.service, dynamodb.port, "CreateTable", CUSTOMER_TABLE_DEFINITION)
    user.drive(until_done_steps(create, attempts=30), "DynamoDB CreateTable")


@events.init.add_listener
def _watch_this_process(environment: Any, **kwargs: Any) -> None:
    """This process's event-loop lag and CPU each second (loadgen/load_gauge.py), every process, master too."""

    def watch() -> None:
        gauge = LoadGauge()
        while True:
            due = math.floor(elapsed()) + 1  # the end of this second on the run's clock, as the cloud's rows count
            delay = due - elapsed()
            gauge.expect(delay)
            gevent.sleep(delay)
            lag, cpu = gauge.read()
            # Woken a second or more late (a saturated process), it stands for every second it missed.
            HARNESS.extend((second, lag, cpu) for second in range(due, math.floor(elapsed()) + 1))

    gevent.spawn(watch)


@events.quitting.add_listener
def _write_outcomes(environment: Any, **kwargs: Any) -> None:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{second},{lag},{cpu}\n" for second, lag, cpu in HARNESS)
    (RUN_DIR / f"harness-{os.getpid()}.csv").write_text("second,lag_ms,cpu\n" + lines)
    if isinstance(environment.runner, MasterRunner):
        return  # a master runs no users
    (RUN_DIR / f"outcomes-{os.getpid()}.csv").write_text(OUTCOMES.csv())
