"""Virtual users against the DNS race: per-second outcomes, with DNS failures named as such during the outage."""

from __future__ import annotations

import json
import random

from loadgen.behaviour import EC2_USER, SecondOutcomes, Stage, UserLoop, classify, stage_at
from loadgen.virtual import VirtualUsers
from scenarios.config.policies import policy_sets
from scenarios.config.schema import load_scenario
from scenarios.run.runner import run_scenario
from services import runtime
from services.dns.stub import StubResolver
from services.event_kinds import EventKind
from services.events import EventLog
from services.net.virtual_network import VirtualNetwork
from services.runtime.kernel import run_in_virtual_time
from services.throttling.outcome import LOCAL, Outcome
from services.throttling.settings import client_policy


def test_outcomes_are_classified_as_the_reports_name_them() -> None:
    """ok, DNS, throttled, timeout, unreachable, server and client errors, local rejections: each apart."""
    assert classify(Outcome(1, 200)) == "ok"
    assert classify(Outcome(1, failure="DNS: dynamodb.us-east-1.cloud.test: NOERROR with no addresses")) == "dns"
    assert classify(Outcome(1, 400, "ThrottlingException")) == "throttled"
    assert classify(Outcome(1, failure="timed out after 2.000 s")) == "timeout"
    assert classify(Outcome(1, failure="ConnectError: refused")) == "unreachable"
    assert classify(Outcome(1, 500, "InsufficientInstanceCapacity")) == "server_error"
    assert classify(Outcome(1, 400, "ValidationException")) == "client_error"
    assert classify(Outcome(1, failure=LOCAL)) == "rejected_locally"


def test_stages_and_the_csv_format() -> None:
    """stage_at follows the stages and ends after the last; the CSV has one row per second and user kind."""
    stages = [Stage(10, {"dynamodb": 5}), Stage(20, {"dynamodb": 1})]
    assert stage_at(stages, 0) is stages[0] and stage_at(stages, 15) is stages[1] and stage_at(stages, 20) is None
    outcomes = SecondOutcomes()
    outcomes.record(3, "dynamodb", 2, "dns")
    outcomes.record(3, "dynamodb", 1, "ok")
    assert outcomes.csv().splitlines() == [
        "second,user,logical,attempts,ok,dns,throttled,timeout,unreachable,server_error,client_error,rejected_locally",
        "3,dynamodb,2,3,1,1,0,0,0,0,0,0",
    ]


def test_an_ec2_user_terminates_its_oldest_instance_once_it_holds_more_than_it_keeps() -> None:
    """Launches add instances; past keep_instances, once EC2 answers, the next request terminates the oldest (the
    fleet turns over). A failed termination is not queued again (it is asked again while the user holds the
    instance, and not while EC2 fails); EC2 saying the instance is gone drops it too."""
    loop = UserLoop(EC2_USER, random.Random(1))
    launch = next(t for t in EC2_USER.tasks if t.name == "RunInstances").build(loop.rng)
    for k in range(4):
        loop.finished(launch, "ok", json.dumps({"Instances": [{"InstanceId": f"i-{k}"}]}).encode())
    assert list(loop.instances) == ["i-0", "i-1", "i-2", "i-3"]
    terminate = loop.next_request()
    assert terminate.name == "EC2 TerminateInstances" and json.loads(terminate.body)["InstanceIds"] == ["i-0"]
    loop.finished(terminate, "server_error")
    assert len(loop.instances) == 4 and not loop.outbox
    assert loop.next_request().name != "EC2 TerminateInstances"  # EC2 failing: the user's own work goes on
    loop.finished(launch, "server_error")
    loop.finished(terminate, "client_error", b'{"Error": {"Code": "InvalidInstanceID.NotFound"}}')
    assert list(loop.instances) == ["i-1", "i-2", "i-3"]
    assert [r.name for r in loop.outbox] == ["EC2 RunInstances"]


def test_dynamodb_users_see_dns_failures_during_the_race_and_success_around_it() -> None:
    """30 virtual DynamoDB users through dns-race.toml: fine before the race, DNS failures while the record is
    empty, fine again after restore_dns; naive clients send several attempts per request during the outage."""
    scenario = load_scenario("scenarios/dns-race.toml")
    naive = policy_sets()["naive"]

    async def main() -> tuple[SecondOutcomes, EventLog]:
        events = EventLog(runtime.current_time)
        network = VirtualNetwork()
        ready = runtime.Event()
        async with runtime.create_task_group() as nursery:
            nursery.start_soon(lambda: run_scenario(scenario, network, events, on_ready=lambda cloud: ready.set()))
            await ready.wait()
            stub = StubResolver(network, ("127.0.0.1", scenario.dns.resolver_port), random.Random(1))
            users = VirtualUsers(
                network,
                stub,
                [Stage(scenario.duration - 1, {"dynamodb": 30})],
                lambda who: random.Random(who),
                lambda who: client_policy(naive.client.settings(), random.Random(who)),
            )
            await users.run()
        return users.outcomes, events

    outcomes, events = run_in_virtual_time(main)
    emptied = int(next(e.t for e in events.events if e.kind == EventKind.RECORD_EMPTIED))
    restored = int(next(e.t for e in events.events if e.kind == EventKind.OPERATOR_ACTION))
    before = outcomes.totals("dynamodb", range(0, emptied))
    during = outcomes.totals("dynamodb", range(emptied + 6, restored))  # once cached answers have expired
    after = outcomes.totals("dynamodb", range(restored + 6, 60))
    assert before["ok"] > 0.95 * before["logical"]
    assert during["dns"] > 0.95 * during["logical"] and during["attempts"] >= 4 * during["logical"]
    assert after["ok"] > 0.95 * after["logical"]
