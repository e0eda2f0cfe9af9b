"""What users do, as data shared by both load engines: Locust (live) and async tasks (virtual time).

A `UserBehaviour` names the service a user calls (by its DNS name), its weighted tasks, its wait between tasks and
its per-request timeout. `Stage`s say how many users of each kind run when. `classify` names an outcome the way
the reports do (DNS failures, throttles, timeouts and server errors apart), and `SecondOutcomes` counts logical
requests, attempts and outcomes per second in one CSV format for both engines.

Pure code: no I/O, no clock, randomness passed in.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate
from typing import Any

from services.net.json_codec import loads
from services.runtime import draws
from services.throttling.outcome import Outcome

OUTCOME_CLASSES = (
    "ok",
    "dns",
    "throttled",
    "timeout",
    "unreachable",
    "server_error",
    "client_error",
    "rejected_locally",
)


@dataclass(frozen=True)
class UserRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    name: str  # how it is reported, e.g. "DynamoDB GetItem"


@dataclass(frozen=True)
class UserTask:
    name: str
    weight: int
    build: Callable[[random.Random], UserRequest]


@dataclass(frozen=True)
class UserBehaviour:
    name: str
    service: str  # DNS name
    port: int
    tasks: tuple[UserTask, ...]
    wait: tuple[float, float] = (0.5, 1.5)
    timeout: float = 2.0  # a logical request's deadline, seconds after it starts
    attempt_timeout: float | None = None  # one attempt's timeout within it (None: the whole deadline)
    outbox: int = 0  # failed requests kept to send again, back to back, once the service answers
    keep_instances: int | None = None  # an EC2 user terminates its oldest instance once it holds more than this

    def pick(self, rng: random.Random) -> UserTask:
        # The same draw as choices(weights=...), which sums the weights up on every call.
        return draws.weighted(rng, self.tasks, self._cum_weights)

    @cached_property
    def _cum_weights(self) -> list[int]:
        return list(accumulate(t.weight for t in self.tasks))

    def wait_time(self, rng: random.Random) -> float:
        return rng.uniform(*self.wait)


REQUEUED = frozenset(OUTCOME_CLASSES) - {"ok", "client_error"}  # work a user still wants done
LAUNCH, TERMINATE = "EC2 RunInstances", "EC2 TerminateInstances"  # the requests an EC2 user keeps count by


class UserLoop:
    """One user's requests: new work after a think time, but once a request succeeds after failures, the work
    that failed meanwhile (its outbox, oldest dropped when full) goes again back to back. That is how a shop's
    order queue or a deploy script behaves, and it is the clients' part of the herd when a service comes back."""

    def __init__(self, behaviour: UserBehaviour, rng: random.Random) -> None:
        self.behaviour = behaviour
        self.rng = rng
        self.outbox: deque[UserRequest] = deque(maxlen=behaviour.outbox)
        self._draining = False
        self.instances: deque[str] = deque()  # an EC2 user's running instances, oldest first

    def next_request(self) -> UserRequest:
        if self._draining and self.outbox:
            return self.outbox.popleft()
        keep = self.behaviour.keep_instances
        if keep is not None and len(self.instances) > keep and self._draining:  # housekeeping, while EC2 answers
            return _ec2("TerminateInstances", {"InstanceIds": [self.instances[0]]})
        return self.behaviour.pick(self.rng).build(self.rng)

    def finished(self, request: UserRequest, outcome: str, body: bytes = b"") -> float:
        """Note how `request` ended (an OUTCOME_CLASSES name, and the reply's body when there was one); returns
        the seconds to wait before the next."""
        housekeeping = request.name == TERMINATE
        if self.behaviour.keep_instances is not None:
            self._note_instances(request, outcome, body)
        self._draining = outcome == "ok"
        if outcome in REQUEUED and not housekeeping:  # a failed termination is asked again while the user holds it
            self.outbox.append(request)
        return 0.0 if self._draining and self.outbox else self.behaviour.wait_time(self.rng)

    def _note_instances(self, request: UserRequest, outcome: str, body: bytes) -> None:
        """A launch adds its instances; a termination drops its instance once done, or once EC2 says it is gone."""
        try:
            if request.name == TERMINATE and (outcome == "ok" or b"InvalidInstanceID.NotFound" in body):
                for instance in loads(request.body)["InstanceIds"]:
                    if instance in self.instances:
                        self.instances.remove(instance)
            elif request.name == LAUNCH and outcome == "ok":
                self.instances.extend(str(i["InstanceId"]) for i in loads(body).get("Instances", []))
        except (ValueError, AttributeError, TypeError, KeyError):
            return


@dataclass(frozen=True)
class Stage:
    """Until `until` seconds into the run, keep `users` users of each named behaviour."""

    until: float
    users: dict[str, int]


def stage_at(stages: Sequence[Stage], elapsed: float) -> Stage | None:
    """The stage in force `elapsed` seconds into the run, or None once the last one has ended (stop)."""
    return next((s for s in stages if elapsed < s.until), None)


def split(total: int, mix: Mapping[Any, int]) -> dict[str, int]:
    """`total` users shared out by weight, the largest remainders first (ties by name), as Locust's weights do."""
    weight = sum(mix.values())
    exact = {name: total * w / weight for name, w in mix.items() if w > 0}
    counts = {name: int(share) for name, share in exact.items()}
    for name in sorted(exact, key=lambda n: (counts[n] - exact[n], n))[: total - sum(counts.values())]:
        counts[name] += 1
    return counts


def classify(outcome: Outcome) -> str:
    """The reports' name for how a logical request ended."""
    if outcome.ok:
        return "ok"
    if outcome.rejected_locally:
        return "rejected_locally"
    if outcome.failure is not None:
        if outcome.failure.startswith("DNS"):
            return "dns"
        return "timeout" if outcome.timed_out else "unreachable"
    if outcome.throttled:
        return "throttled"
    return "server_error" if (outcome.status or 0) >= 500 else "client_error"


@dataclass
class SecondOutcomes:
    """Per-second counts: logical requests started, attempts sent, and how the requests ended, by user kind."""

    rows: dict[tuple[int, str], dict[str, int]] = field(default_factory=dict)

    def record(self, second: int, user: str, attempts: int, outcome: str) -> None:
        row = self.rows.setdefault((second, user), {"logical": 0, "attempts": 0, **dict.fromkeys(OUTCOME_CLASSES, 0)})
        row["logical"] += 1
        row["attempts"] += attempts
        row[outcome] += 1

    def csv(self) -> str:
        header = ["second", "user", "logical", "attempts", *OUTCOME_CLASSES]
        lines = [",".join(header)]
        for (second, user), row in sorted(self.rows.items()):
            lines.append(",".join([str(second), user, *(str(row[h]) for h in header[2:])]))
        return "\n".join(lines) + "\n"

    @classmethod
    def from_csv(cls, *texts: str) -> SecondOutcomes:
        """Outcomes read back from one or more CSVs in this format (say one per Locust worker), summed."""
        merged = cls()
        for text in texts:
            for line in text.splitlines()[1:]:
                second, user, *counts = line.split(",")
                row = merged.rows.setdefault(
                    (int(second), user), {"logical": 0, "attempts": 0, **dict.fromkeys(OUTCOME_CLASSES, 0)}
                )
                for key, value in zip(["logical", "attempts", *OUTCOME_CLASSES], counts, strict=True):
                    row[key] += int(value)
        return merged

    def per_second(self, key: str) -> dict[int, int]:
        """One count (e.g. "attempts") per second, summed over user kinds."""
        out: dict[int, int] = {}
        for (second, _), row in self.rows.items():
            out[second] = out.get(second, 0) + row[key]
        return out

    def totals(self, user: str | None = None, seconds: range | None = None) -> dict[str, int]:
        out = {"logical": 0, "attempts": 0, **dict.fromkeys(OUTCOME_CLASSES, 0)}
        for (second, who), row in self.rows.items():
            if (user is None or who == user) and (seconds is None or second in seconds):
                for key, value in row.items():
                    out[key] += value
        return out


def _dynamodb(operation: str, body: dict[str, object]) -> UserRequest:
    headers = {"content-type": "application/x-amz-json-1.0", "x-amz-target": f"DynamoDB_20120810.{operation}"}
    return UserRequest("POST", "/", headers, json.dumps(body).encode(), f"DynamoDB {operation}")


CUSTOMER_TABLE = "customer-orders"
CUSTOMER_KEYS = 1000


def _get(rng: random.Random) -> UserRequest:
    return _dynamodb(
        "GetItem",
        {"TableName": CUSTOMER_TABLE, "Key": {"pk": {"S": f"c-{rng.randrange(CUSTOMER_KEYS)}"}, "sk": {"N": "0"}}},
    )


def _put(rng: random.Random) -> UserRequest:
    item = {
        "pk": {"S": f"c-{rng.randrange(CUSTOMER_KEYS)}"},
        "sk": {"N": "0"},
        "total": {"N": str(rng.randrange(1000))},
    }
    return _dynamodb("PutItem", {"TableName": CUSTOMER_TABLE, "Item": item})


def _query(rng: random.Random) -> UserRequest:
    return _dynamodb(
        "Query",
        {
            "TableName": CUSTOMER_TABLE,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": f"c-{rng.randrange(CUSTOMER_KEYS)}"}},
            "Limit": 10,
        },
    )


def _ec2(action: str, extra: dict[str, object]) -> UserRequest:
    return UserRequest(
        "POST",
        "/",
        {"content-type": "application/json"},
        json.dumps({"Action": action, **extra}).encode(),
        f"EC2 {action}",
    )


def _invoke(rng: random.Random) -> UserRequest:
    body = json.dumps({"order": rng.randrange(10**6)}).encode()
    return UserRequest(
        "POST",
        "/2015-03-31/functions/orders-handler/invocations",
        {"content-type": "application/json"},
        body,
        "Lambda Invoke",
    )


CUSTOMER_TABLE_DEFINITION = {
    "TableName": CUSTOMER_TABLE,
    "BillingMode": "PAY_PER_REQUEST",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
    ],
}

DYNAMODB_USER = UserBehaviour(
    "dynamodb",
    "dynamodb.us-east-1.cloud.test",
    8000,
    (UserTask("GetItem", 6, _get), UserTask("PutItem", 3, _put), UserTask("Query", 1, _query)),
    outbox=20,
)
EC2_USER = UserBehaviour(
    "ec2",
    "ec2.us-east-1.cloud.test",
    8000,
    (
        UserTask("RunInstances", 1, lambda rng: _ec2("RunInstances", {"MinCount": 1})),
        UserTask("DescribeInstances", 4, lambda rng: _ec2("DescribeInstances", {})),
    ),
    wait=(2.0, 5.0),
    timeout=5.0,
    outbox=5,
    keep_instances=3,  # a fleet that turns over, so that over a long run launches do not fill EC2 up
)
LAMBDA_USER = UserBehaviour(
    "lambda", "lambda.us-east-1.cloud.test", 8000, (UserTask("Invoke", 1, _invoke),), timeout=3.0, outbox=10
)
BEHAVIOURS = {b.name: b for b in (DYNAMODB_USER, EC2_USER, LAMBDA_USER)}


def declared_user(name: str, service: str, port: int, operations: tuple[str, ...]) -> UserBehaviour:
    """A user of a service declared in the scenario: each of its operations, equally often (POST /<Operation>)."""

    def task(operation: str) -> UserTask:
        request = UserRequest(
            "POST", f"/{operation}", {"content-type": "application/json"}, b"{}", f"{name} {operation}"
        )
        return UserTask(operation, 1, lambda rng: request)

    return UserBehaviour(name, service, port, tuple(task(op) for op in operations), outbox=10)
