"""Locust users built from loadgen/behaviour.py, for live runs (this module runs only inside Locust's processes).

Configuration comes from the environment, set by `cascadesim serve --users N` (or by hand):
    CASCADESIM_SCENARIO   the scenario file (its resolver port and policy set are used)
    CASCADESIM_RUN_DIR    where per-second outcomes go (outcomes-<pid>.csv)
    CASCADESIM_USERS      comma-separated user kinds to run (default: every kind the scenario runs)

Every request resolves its service's name through the shared resolver (dnspython's sync resolver, which works
under gevent), picks one of the addresses, sends Host, and follows the policy set's client policy.
Each attempt is reported to Locust's statistics under the task's name, its failure named by class ("dns",
"throttled", "timeout", …), so attempts per second, the herd, show in Locust's own charts and CSV.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
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
from locust import FastHttpUser, events, task

from loadgen.behaviour import (
    BEHAVIOURS,
    CUSTOMER_TABLE_DEFINITION,
    DYNAMODB_USER,
    SecondOutcomes,
    UserBehaviour,
    classify,
)
from scenarios.policies import client_policy, load_policy_set
from scenarios.schema import load_scenario
from services.throttling.outcome import LOCAL, Outcome

SCENARIO = load_scenario(os.environ.get("CASCADESIM_SCENARIO", "scenarios/dns-race.toml"))
POLICY = load_policy_set(Path(__file__).resolve().parents[1] / "scenarios" / "policies" / f"{SCENARIO.policy}.toml")
RUN_DIR = Path(os.environ.get("CASCADESIM_RUN_DIR", "."))
OUTCOMES = SecondOutcomes()
START = time.monotonic()


def _resolver() -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = SCENARIO.dns.resolver_port
    resolver.lifetime = 2.0
    resolver.cache = None  # the shared resolver caches; each lookup asks it, as the services' stubs do
    return resolver


class CascadeUser(FastHttpUser):
    abstract = True
    host = "http://127.0.0.1"
    behaviour: ClassVar[UserBehaviour]

    def on_start(self) -> None:
        self.rng = random.Random(f"{SCENARIO.seed}:{os.getpid()}:{id(self)}")
        self.policy = client_policy(POLICY, self.rng)
        self.resolver = _resolver()

    def wait_time(self) -> float:
        return self.behaviour.wait_time(self.rng)

    @task
    def one_request(self) -> None:
        behaviour = self.behaviour
        request = behaviour.pick(self.rng).build(self.rng)
        began = time.monotonic()
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
        OUTCOMES.record(int(began - START), behaviour.name, attempts, classify(outcome))

    def _attempt(self, request: Any, attempt: int, deadline: float) -> Outcome:
        started = time.monotonic()
        try:
            answer = self.resolver.resolve(self.behaviour.service, "A")
            addresses = [r.address for r in answer]
        except (dns.exception.DNSException, OSError) as exc:
            outcome = Outcome(attempt, failure=f"DNS: {type(exc).__name__}")
            self._report(request.name, started, outcome)
            return outcome
        url = f"http://{self.rng.choice(addresses)}:{self.behaviour.port}{request.path}"
        # No x-deadline: the servers' simulated clock lives in another process, so a Locust user cannot name it.
        headers = {**request.headers, "host": self.behaviour.service}
        timeout = max(0.01, deadline - time.monotonic())
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


def _ports() -> dict[str, int]:
    """Each service's port as the scenario sets it."""
    ports = {"dynamodb": SCENARIO.dynamodb.port}
    if SCENARIO.ec2 is not None:
        ports["ec2"] = SCENARIO.ec2.port
    if SCENARIO.lambda_ is not None:
        ports["lambda"] = SCENARIO.lambda_.port
    return ports


PORTS = _ports()


def _user_class(behaviour: UserBehaviour) -> type[CascadeUser]:
    behaviour = dataclasses.replace(behaviour, port=PORTS[behaviour.name])
    return type(
        f"{behaviour.name.capitalize()}User",
        (CascadeUser,),
        {"behaviour": behaviour, "abstract": False, "__module__": __name__},
    )


_WANTED = [k for k in os.environ.get("CASCADESIM_USERS", "dynamodb,ec2,lambda").split(",") if k in BEHAVIOURS]
_WANTED = [k for k in _WANTED if k in PORTS]
for _kind in _WANTED:
    globals()[f"{_kind.capitalize()}User"] = _user_class(BEHAVIOURS[_kind])


@events.test_start.add_listener
def _create_customer_table(environment: Any, **kwargs: Any) -> None:
    """The DynamoDB users' table, created once per process before the users start (it may already exist)."""
    try:
        address = _resolver().resolve(DYNAMODB_USER.service, "A")[0].address
    except (dns.exception.DNSException, OSError):
        return  # DNS is already down: the users will report it
    headers = {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": "DynamoDB_20120810.CreateTable",
        "host": DYNAMODB_USER.service,
    }
    body = json.dumps(CUSTOMER_TABLE_DEFINITION).encode()
    request = urllib.request.Request(
        f"http://{address}:{PORTS['dynamodb']}/", data=body, headers=headers, method="POST"
    )
    with contextlib.suppress(urllib.error.URLError, OSError):  # 400 ResourceInUseException is fine too
        urllib.request.urlopen(request, timeout=5).close()


@events.quitting.add_listener
def _write_outcomes(environment: Any, **kwargs: Any) -> None:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    (RUN_DIR / f"outcomes-{os.getpid()}.csv").write_text(OUTCOMES.csv())
