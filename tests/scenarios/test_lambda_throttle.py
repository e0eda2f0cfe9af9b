"""lambda-throttle.toml in virtual time: Lambda's callers are throttled during the spike and retry, DynamoDB's are
not."""

from __future__ import annotations

from scenarios.config.schema import LoadSpike
from tests.helpers import run_virtual, shipped


def test_lambda_callers_are_throttled_and_retry_during_the_spike() -> None:
    """Before the spike every Invoke succeeds at one attempt; during it a good share of the Lambda users' logical
    requests end `throttled` (429 TooManyRequestsException) after more than one attempt on average, while the
    DynamoDB users beside them are never throttled."""
    scenario = shipped("lambda-throttle")
    (spike,) = (f for f in scenario.faults if isinstance(f, LoadSpike))
    start, end = int(spike.at), int(spike.at + spike.duration)
    run = run_virtual(scenario)
    assert run.users is not None
    outcomes = run.users.outcomes
    before = outcomes.totals("lambda", range(5, start))
    during = outcomes.totals("lambda", range(start, end))
    dynamodb = outcomes.totals("dynamodb", range(start, end))
    assert before["logical"] > 0 and before["ok"] == before["logical"] == before["attempts"], before
    assert during["throttled"] > 0.2 * during["logical"], during
    assert during["attempts"] > 1.5 * during["logical"], during
    assert dynamodb["logical"] > 0 and dynamodb["throttled"] == 0, dynamodb
