"""The internal client every service uses to call another: DNS name in, HTTP response out.

For each call it resolves the downstream's logical name through the shared resolver's stub, picks one of the
addresses the resolver returned (uniformly: the authority already ordered them by weight, and each client spreads
its own load), sends the `Host` and `x-deadline` headers, and reuses one small connection pool per downstream.
Before every attempt it asks the client policy (services/throttling) whether to send now, later or not at all,
and after it whether, and after how long, to try again. `NoRetry` is the default.
"""

from __future__ import annotations

import math
import random

import anyio
import anyio.lowlevel
import httpx

from services.dns.stub import StubResolver
from services.errors import CallFailed, DnsError
from services.net import Network
from services.throttling.backoff import NoRetry
from services.throttling.base import ClientPolicy
from services.throttling.outcome import LOCAL, Outcome

DEADLINE_HEADER = "x-deadline"


def parse_deadline(value: str | None) -> float | None:
    """The `x-deadline` header as a simulated time, or None; an unreadable one is ignored, as AWS ignores
    headers it does not know."""
    try:
        deadline = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return deadline if math.isfinite(deadline) else None


class ServiceClient:
    """Calls one downstream service by its DNS name."""

    def __init__(
        self,
        network: Network,
        stub: StubResolver,
        name: str,
        port: int,
        rng: random.Random,
        *,
        timeout: float = 5.0,
        pool_size: int = 4,
        policy: ClientPolicy | None = None,
    ) -> None:
        self.name = name
        self.port = port
        self._stub = stub
        self._rng = rng
        self._timeout = timeout
        self.policy: ClientPolicy = policy or NoRetry()
        self._http = network.http_client(timeout=timeout, max_connections=pool_size)
        self.attempts = 0
        self.rejected_locally = 0
        self.last_outcome: Outcome | None = None  # how the latest call ended

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes = b"",
        deadline: float | None = None,
    ) -> httpx.Response:
        """The final response (whatever its status) once the policy stops retrying.

        Raises CallFailed when the last attempt got no response at all (DNS, connection, timeout).
        """
        call = self.policy.new_call()
        attempt = 0
        while True:
            attempt += 1
            admission = call.before_attempt(attempt, anyio.current_time())
            if admission.delay > 0:
                await anyio.sleep(admission.delay)
            if admission.allowed:
                self.attempts += 1
                response, outcome = await self._attempt(method, path, headers or {}, content, deadline, attempt)
            else:
                self.rejected_locally += 1
                response, outcome = None, Outcome(attempt, failure=LOCAL)
            now = anyio.current_time()
            delay = call.after_attempt(outcome, now)
            self.last_outcome = outcome
            if delay is None or (deadline is not None and now + delay >= deadline):
                if response is None:
                    raise CallFailed(self.name, outcome.failure or "no response")
                return response
            if delay > 0:
                await anyio.sleep(delay)
            else:  # an immediate retry: a yield to the scheduler per attempt cost more than the attempt itself
                await anyio.lowlevel.checkpoint_if_cancelled()

    async def _attempt(
        self, method: str, path: str, headers: dict[str, str], content: bytes, deadline: float | None, attempt: int
    ) -> tuple[httpx.Response | None, Outcome]:
        try:
            addresses = await self._stub.resolve(self.name)
        except DnsError as exc:
            return None, Outcome(attempt, failure=f"DNS: {exc}")
        address = self._rng.choice(addresses)
        sent = {"host": self.name, **headers}
        if deadline is not None:
            sent[DEADLINE_HEADER] = repr(deadline)
        timeout = self._timeout if deadline is None else max(0.0, min(self._timeout, deadline - anyio.current_time()))
        try:
            response = await self._http.request(
                method, f"http://{address}:{self.port}{path}", headers=sent, content=content, timeout=timeout
            )
        except httpx.TimeoutException:
            return None, Outcome(attempt, failure=f"timed out after {timeout:.3f} s")
        except httpx.HTTPError as exc:
            return None, Outcome(attempt, failure=f"{type(exc).__name__}: {exc}")
        code = None
        if response.status_code >= 400:
            try:
                code = str(response.json().get("__type", "")).rpartition("#")[2] or None
            except ValueError:
                code = None
        return response, Outcome(attempt, response.status_code, code)
