"""Locust users built from loadgen/behaviour.py, for live runs (this module runs only inside Locust's processes).

Configuration comes from the environment, set by `cascadesim serve` (or by hand):
    CASCADESIM_SCENARIO   the scenario file: its ports, policy set and [load] (mix, stages, spawn rate)
    CASCADESIM_RUN_DIR    where per-second outcomes go (outcomes-<pid>.csv)
    CASCADESIM_USERS      a constant total of users instead of the scenario's stages
    CASCADESIM_UNTIL      stop this many seconds into the run (default: the scenario's duration)
    CASCADESIM_CLOCK      "OFFSET START": the cloud's clock is time.perf_counter() + OFFSET and the run began at
                          START on it. Set by cascadesim on this machine; without it the run starts when Locust does
                          and no x-deadline is sent.

The load shape follows the scenario's stages on the run's own clock, so stage times, fault times and the
per-second outcomes line up. Users of each kind are Locust user classes weighted by the scenario's mix.

Every request resolves its service's name through the shared resolver (dnspython's sync resolver, which works
under gevent; answers are kept for their TTL, as a host's caching stub would), picks one of the addresses, sends
Host and x-deadline, and follows the policy set's client policy.
Each attempt is reported to Locust's statistics under the task's name, its failure named by class ("dns",
"throttled", "timeout", …), so attempts per second, the herd, show in Locust's own charts and CSV.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

import dns.exception
import dns.resolver
import gevent
from locust import FastHttpUser, LoadTestShape, events, task
from locust.runners import MasterRunner

from loadgen.behaviour import (
    CUSTOMER_TABLE_DEFINITION,
    DYNAMODB_USER,
    SecondOutcomes,
    Stage,
    UserBehaviour,
    UserLoop,
    behaviours_of,
    classify,
    spikes_of,
    split,
    stage_at,
    stages_of,
)
from scenarios.policies import client_policy, load_policy_set, policy_path
from scenarios.schema import load_scenario
from services.client import DEADLINE_HEADER
from services.throttling.outcome import LOCAL, Outcome

SCENARIO = load_scenario(os.environ.get("CASCADESIM_SCENARIO", "scenarios/dns-race.toml"))
POLICY = load_policy_set(policy_path(SCENARIO.policy))
RUN_DIR = Path(os.environ.get("CASCADESIM_RUN_DIR", "."))
OUTCOMES = SecondOutcomes()
BEHAVIOURS = behaviours_of(SCENARIO)


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


def _load() -> tuple[dict[str, int], list[Stage], float]:
    """The user mix, the stages (load spikes cut in) and the spawn rate: the scenario's, or CASCADESIM_USERS."""
    until = float(os.environ.get("CASCADESIM_UNTIL", SCENARIO.duration))
    load = SCENARIO.load
    constant = os.environ.get("CASCADESIM_USERS")
    mix = {kind: 1 for kind in BEHAVIOURS} if load is None else {k: w for k, w in load.mix.items() if w > 0}
    if constant or load is None:
        stages = [Stage(until, split(int(constant or 0), mix))]
    else:
        every = stages_of(load, spikes_of(SCENARIO))
        stages = [s for s in every if s.until <= until]
        if len(stages) < len(every):
            stages.append(Stage(until, every[len(stages)].users))
    return {k: w for k, w in mix.items() if k in BEHAVIOURS}, stages, load.spawn_rate if load else 10.0


MIX, STAGES, SPAWN_RATE = _load()
_DNS_CACHE = dns.resolver.Cache()


def new_resolver() -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = SCENARIO.dns.resolver_port
    resolver.lifetime = 2.0
    resolver.cache = _DNS_CACHE  # one per process, answers kept for their TTL: a host's caching stub
    return resolver


_ADDRESSES: dict[str, tuple[float, list[str]]] = {}


def addresses_of(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    """`name`'s addresses, kept until their TTL runs out (what dnspython's cache does, without its per-lookup
    cost); failures are not kept here, the resolver's cache holds negative answers for their own TTL."""
    kept = _ADDRESSES.get(name)
    if kept is not None and kept[0] > time.time():
        return kept[1]
    answer = resolver.resolve(name, "A")
    addresses = [record.address for record in answer]
    _ADDRESSES[name] = (answer.expiration, addresses)
    return addresses


class CascadeUser(FastHttpUser):
    abstract = True
    host = "http://127.0.0.1"
    behaviour: ClassVar[UserBehaviour]

    def on_start(self) -> None:
        self.rng = random.Random(f"{SCENARIO.seed}:{os.getpid()}:{id(self)}")
        self.policy = client_policy(POLICY, self.rng)
        self.resolver = new_resolver()

        self.loop = UserLoop(self.behaviour, self.rng)
        self.pause = 0.0

    def wait_time(self) -> float:
        return self.pause

    @task
    def one_request(self) -> None:
        behaviour = self.behaviour
        request = self.loop.next_request()
        began = time.monotonic()
        second = int(elapsed())
        deadline = began + behaviour.timeout
        call = self.policy.new_call()
        attempt, attempts = 0, 0
        while True:
            attempt += 1
            admission = call.before_attempt(attempt, time.monotonic())
            if admission.delay > 0:
                gevent.sleep(admission.delay)
            if admission.allowed:
                attempts += 1
                outcome = self._attempt(request, attempt, deadline)
            else:
                outcome = Outcome(attempt, failure=LOCAL)
            delay = call.after_attempt(outcome, time.monotonic())
            if delay is None or time.monotonic() + delay >= deadline:
                break
            gevent.sleep(delay)
        outcome_class = classify(outcome)
        OUTCOMES.record(second, behaviour.name, attempts, outcome_class)
        self.pause = self.loop.finished(request, outcome_class)

    def _attempt(self, request: Any, attempt: int, deadline: float) -> Outcome:
        started = time.monotonic()
        try:
            addresses = addresses_of(self.resolver, self.behaviour.service)
        except (dns.exception.DNSException, OSError) as exc:
            outcome = Outcome(attempt, failure=f"DNS: {type(exc).__name__}")
            self._report(request.name, started, outcome)
            return outcome
        url = f"http://{self.rng.choice(addresses)}:{self.behaviour.port}{request.path}"
        headers = {**request.headers, "host": self.behaviour.service}
        timeout = max(0.01, min(self.behaviour.attempt_timeout or math.inf, deadline - time.monotonic()))
        if CLOCK_OFFSET is not None:  # the deadline on the servers' clock, which we know on this machine
            headers[DEADLINE_HEADER] = repr(cloud_now() + (deadline - time.monotonic()))
        with self.client.request(
            request.method,
            url,
            data=request.body,
            headers=headers,
            name=request.name,
            catch_response=True,
            timeout=timeout,
        ) as response:
            status = response.status_code or None
            code = None
            if status is not None and status >= 400:
                try:
                    body = response.json()
                    code = (
                        str(body.get("__type", "")).rpartition("#")[2]
                        or body.get("Error", {}).get("Code")
                        or response.headers.get("x-amzn-ErrorType")
                    )
                except Exception:  # a body that is not JSON: keep the status alone
                    code = None
            if status is None:
                outcome = Outcome(
                    attempt,
                    failure="timed out" if time.monotonic() >= deadline - 0.01 else f"unreachable: {response.error}",
                )
            else:
                outcome = Outcome(attempt, status, code)
            if outcome.ok:
                response.success()
            else:
                response.failure(classify(outcome))
        return outcome

    def _report(self, name: str, started: float, outcome: Outcome) -> None:
        events.request.fire(
            request_type="DNS",
            name=name,
            response_time=(time.monotonic() - started) * 1000,
            response_length=0,
            exception=Exception(classify(outcome)),
            context={},
        )


def _user_class(behaviour: UserBehaviour, weight: int) -> type[CascadeUser]:
    return type(
        f"{behaviour.name.capitalize()}User",
        (CascadeUser,),
        {"behaviour": behaviour, "weight": weight, "abstract": False, "__module__": __name__},
    )


for _kind, _weight in MIX.items():
    globals()[f"{_kind.capitalize()}User"] = _user_class(BEHAVIOURS[_kind], _weight)


class ScenarioShape(LoadTestShape):
    """The scenario's stages on the run's clock; Locust stops when the last one ends."""

    def tick(self) -> tuple[int, float] | None:
        stage = stage_at(STAGES, elapsed())
        return None if stage is None else (sum(stage.users.values()), SPAWN_RATE)


@events.test_start.add_listener
def _create_customer_table(environment: Any, **kwargs: Any) -> None:
    """The DynamoDB users' table, created once per process before the users start (it may already exist)."""
    try:
        address = new_resolver().resolve(DYNAMODB_USER.service, "A")[0].address
    except (dns.exception.DNSException, OSError):
        return  # DNS is already down: the users will report it
    headers = {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": "DynamoDB_20120810.CreateTable",
        "host": DYNAMODB_USER.service,
    }
    body = json.dumps(CUSTOMER_TABLE_DEFINITION).encode()
    request = urllib.request.Request(
        f"http://{address}:{SCENARIO.dynamodb.port}/", data=body, headers=headers, method="POST"
    )
    with contextlib.suppress(urllib.error.URLError, OSError):  # 400 ResourceInUseException is fine too
        urllib.request.urlopen(request, timeout=5).close()


@events.quitting.add_listener
def _write_outcomes(environment: Any, **kwargs: Any) -> None:
    if isinstance(environment.runner, MasterRunner):
        return  # a master runs no users
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    (RUN_DIR / f"outcomes-{os.getpid()}.csv").write_text(OUTCOMES.csv())
