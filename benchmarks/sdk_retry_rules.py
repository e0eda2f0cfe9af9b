"""The aws-sdk-standard policies held to botocore's own standard mode, against the mock DynamoDB over HTTP.

    python -m benchmarks.sdk_retry_rules [--calls 14]

Two mock routers on loopback (ports the kernel picks): one that throttles every request (ThrottlingException, 400)
and one whose storage is broken (InternalServerError, 500). The installed botocore (its default standard mode, with
the time it would sleep recorded instead of slept) makes `--calls` failing GetItems on one client against each;
then the cloud's policy (aws-sdk-standard: the 2020 rules; aws-sdk-standard-2026) meets the same failures. Printed
for each: attempts per failing call, the most it waited before retries 1, 2 and 3 (full jitter: a draw up to the
cap), the retry quota left after the calls, and the first call that the quota stopped retrying.
"""

from __future__ import annotations

import argparse
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore
import botocore.endpoint
import botocore.retries.quota
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from services.dynamodb import Router
from services.throttling.admission import TokenBucketLimit
from services.throttling.aws import RULES_2020, RULES_2026, AwsStandard, StandardRules
from services.throttling.outcome import Outcome
from services.throttling.settings import bind_service
from tests.helpers import serve_routes
from tests.services.replies import BrokenStorage

GET = {"TableName": "orders", "Key": {"pk": {"S": "a"}}}


@dataclass
class Measured:
    attempts: list[int] = field(default_factory=list)  # per call
    waits: dict[int, float] = field(default_factory=dict)  # retry n -> the longest wait before it
    quota_left: int = 0
    quota_ran_out_at: int | None = None  # the first call with fewer attempts than its first

    def row(self) -> str:
        waits = ", ".join(f"{self.waits.get(n, 0.0):.3f}" for n in (1, 2, 3))
        out = self.quota_ran_out_at if self.quota_ran_out_at is not None else "-"
        return f"{self.attempts[0]:>8} | {waits:>19} | {self.quota_left:>10} | {out!s:>14}"


def botocore_side(url: str, calls: int) -> Measured:
    """botocore's own standard mode against `url`: attempts counted as sent, sleeps recorded, its quota read."""
    quotas: list[Any] = []
    real_init = botocore.retries.quota.RetryQuota.__init__

    def remember(self: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        quotas.append(self)

    sleeps: list[float] = []
    real_sleep = botocore.endpoint.time.sleep
    botocore.retries.quota.RetryQuota.__init__ = remember
    botocore.endpoint.time.sleep = sleeps.append
    try:
        session = botocore.session.get_session()
        client = session.create_client(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"mode": "standard"}),
        )
        sent: list[int] = [0]
        client.meta.events.register("before-send", lambda **kw: sent.__setitem__(0, sent[0] + 1))
        measured = Measured()
        for _ in range(calls):
            before, sleeps_before = sent[0], len(sleeps)
            with contextlib.suppress(ClientError):
                client.get_item(**GET)
            measured.attempts.append(sent[0] - before)
            for n, wait in enumerate(sleeps[sleeps_before:], 1):
                measured.waits[n] = max(measured.waits.get(n, 0.0), wait)
        measured.quota_left = quotas[-1].available_capacity
    finally:
        botocore.retries.quota.RetryQuota.__init__ = real_init
        botocore.endpoint.time.sleep = real_sleep
    _ran_out(measured)
    return measured


def policy_side(rules: StandardRules, outcome: Callable[[int], Outcome], calls: int, draws: int = 200) -> Measured:
    """The cloud's policy meeting the same failures; the longest waits over `draws` fresh clients (full jitter)."""
    measured = Measured()
    policy = AwsStandard(max_attempts=None, rng=random.Random(1), rules=rules)
    bind_service(policy, "dynamodb.us-east-1.cloud.test")
    for _ in range(calls):
        call, attempt = policy.new_call(), 1
        while call.after_attempt(outcome(attempt), 0.0) is not None:
            attempt += 1
        measured.attempts.append(attempt)
    measured.quota_left = policy.quota.available
    for seed in range(draws):
        fresh = AwsStandard(max_attempts=None, rng=random.Random(seed), rules=rules)
        bind_service(fresh, "dynamodb")
        call = fresh.new_call()
        for n in (1, 2, 3):
            wait = call.after_attempt(outcome(n), 0.0)
            if wait is not None:
                measured.waits[n] = max(measured.waits.get(n, 0.0), wait)
    _ran_out(measured)
    return measured


def _ran_out(measured: Measured) -> None:
    first = measured.attempts[0]
    measured.quota_ran_out_at = next((k for k, a in enumerate(measured.attempts, 1) if a < first), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=14, help="failing calls on one client (default 14)")
    args = parser.parse_args()
    routers = {
        "throttling (400 ThrottlingException)": (
            Router("router-throttling", admission=TokenBucketLimit(rate=1e-9, burst=1)),
            lambda n: Outcome(n, 400, "ThrottlingException"),
        ),
        "transient (500 InternalServerError)": (
            Router("router-broken", BrokenStorage()),
            lambda n: Outcome(n, 500, "InternalServerError"),
        ),
    }
    print(f"botocore {botocore.__version__}, {args.calls} failing GetItems on one client, against the mock DynamoDB")
    print(f"{'case':<38} | {'who':<24} | attempts | max wait, retry 1-3 | quota left | quota ran out")
    for case, (router, outcome) in routers.items():
        with serve_routes(router.routes, "127.0.9.41") as url:
            if "throttling" in case:  # spend the one token the bucket starts with
                botocore_side(url, 1)
            boto = botocore_side(url, args.calls)
        print(f"{case:<38} | {'botocore (real)':<24} | {boto.row()}")
        for name, rules in (("aws-sdk-standard", RULES_2020), ("aws-sdk-standard-2026", RULES_2026)):
            ours = policy_side(rules, outcome, args.calls)
            print(f"{'':<38} | {name:<24} | {ours.row()}")


if __name__ == "__main__":
    main()
