"""What one logical request to a service means, written once for every client: the internal `ServiceClient`
(services and virtual users, on the runtime seam) and the Locust users (on gevent).

The core is sans-I/O, like h11: `exchange()` is a generator that says what it needs done next and is resumed
with the result. An engine drives it with its own transport:

    Resolve(name)  -> the addresses from the shared resolver (kept for their TTL), or the DnsError
    Send(...)      -> a Reply, or NoReply when no HTTP response came (refused, timed out)
    Sleep(seconds) -> None, after waiting (0: just let others run)
    Perform(request) -> the Result of a whole `exchange()` of the engine's own (for work made of requests, such as
                        repeating a set-up write until it takes effect: services/dynamodb/calls.py)

For each attempt the core asks the client policy whether to send now, later or not at all; resolves the
service's name; picks one of the addresses (uniformly: the authority already ordered them by weight, and each
client spreads its own load); sends `Host` and `x-deadline` (the absolute deadline on the cloud's clock) with a
timeout that never outlives the deadline; classifies the answer as the AWS SDKs do (services/net/protocol.py); and
asks the policy whether, and after how long, to try again.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.errors import DnsError
from services.net.http import DEADLINE_HEADER
from services.net.outside import OWN_AGENT
from services.net.protocol import error_code
from services.runtime import draws
from services.throttling.base import Call
from services.throttling.outcome import LOCAL, Outcome


@dataclass(slots=True)
class Request:
    """One logical request to a service, by its DNS name."""

    service: str
    port: int
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


# Requests, steps, answers and results are made per request or per attempt, millions of times in a long virtual
# run: plain slotted dataclasses, which build at a third of a frozen one's cost. Nothing changes them once made.
@dataclass(slots=True)
class Resolve:
    name: str


@dataclass(slots=True)
class Send:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    timeout: float


@dataclass(slots=True)
class Sleep:
    seconds: float


@dataclass(slots=True)
class Perform:
    request: Request
    deadline: float | None = None


NO_WAIT = Sleep(0.0)  # an immediate retry

Step = Resolve | Send | Sleep | Perform


@dataclass(slots=True)
class Reply:
    """An HTTP response as the core reads it; `raw` is the engine's own response object, handed back."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    raw: Any = None


@dataclass(slots=True)
class NoReply:
    """No HTTP response: `failure` says why ("timed out after …" for a timeout)."""

    failure: str


@dataclass(slots=True)
class Result:
    """How a logical request ended: its last outcome and reply, the attempts sent and those the policy refused."""

    outcome: Outcome
    reply: Reply | None
    attempts: int
    rejected_locally: int


def outcome_of(attempt: int, answer: Reply | NoReply) -> Outcome:
    """What an attempt's answer means to a client (AWS SDK rules for the error code)."""
    if isinstance(answer, NoReply):
        return Outcome(attempt, failure=answer.failure)
    return Outcome(attempt, answer.status, error_code(answer.status, answer.headers, answer.body))


def exchange(
    request: Request,
    call: Call,
    rng: random.Random,
    clock: Callable[[], float],
    *,
    attempt_timeout: float,
    deadline: float | None = None,
    send_deadline: bool = True,
) -> Generator[Step, Any, Result]:
    """One logical request, attempt by attempt, until the policy stops or the deadline would pass.

    `clock` is the engine's clock (the cloud's, for `deadline`); with `send_deadline` false the deadline still
    bounds the attempts but is not sent (a client that does not know the servers' clock).
    """
    attempt = sent = refused = 0
    resolve = Resolve(request.service)  # one step object per request, not per attempt
    while True:
        attempt += 1
        admission = call.before_attempt(attempt, clock())
        if admission.delay > 0:
            yield Sleep(admission.delay)
        reply: Reply | None = None
        if not admission.allowed:
            refused += 1
            outcome = Outcome(attempt, failure=LOCAL)
        else:
            sent += 1
            found = yield resolve
            if isinstance(found, DnsError):
                outcome = Outcome(attempt, failure=f"DNS: {found}")
            else:
                answer = yield _send(
                    request, draws.choice(rng, found), clock(), attempt_timeout, deadline, send_deadline
                )
                outcome = outcome_of(attempt, answer)
                reply = answer if isinstance(answer, Reply) else None
        now = clock()
        delay = call.after_attempt(outcome, now)
        if delay is None or (deadline is not None and now + delay >= deadline):
            return Result(outcome, reply, sent, refused)
        yield Sleep(delay) if delay > 0 else NO_WAIT


def _send(
    request: Request, address: str, now: float, attempt_timeout: float, deadline: float | None, send_deadline: bool
) -> Send:
    headers = {"host": request.service, "user-agent": OWN_AGENT, **request.headers}
    timeout = attempt_timeout
    if deadline is not None:
        timeout = max(0.0, min(attempt_timeout, deadline - now))
        if send_deadline:
            headers[DEADLINE_HEADER] = repr(deadline)
    url = f"http://{address}:{request.port}{request.path}"
    return Send(request.method, url, headers, request.body, timeout)
