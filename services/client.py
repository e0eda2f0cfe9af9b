"""The internal client every service uses to call another: DNS name in, HTTP response out.

For each call it resolves the downstream's logical name through the shared resolver's stub, picks one of the
addresses the resolver returned (uniformly: the authority already ordered them by weight, and each client spreads
its own load), sends the `Host` and `x-deadline` headers, and reuses one small connection pool per downstream.
After every attempt it asks a retry policy whether, and after how long, to try again. The throttling issue
supplies the real policies; `NoRetry` is the default.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

import anyio
import httpx

from services.dns.stub import StubResolver
from services.errors import CallFailed, DnsError
from services.net import Network

DEADLINE_HEADER = "x-deadline"


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced: an HTTP status and error code, or a failure before any response."""

    attempt: int
    status: int | None = None
    error_code: str | None = None
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400

    @property
    def throttled(self) -> bool:
        return self.error_code in (
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "TooManyRequestsException",
        )


class RetryPolicy(Protocol):
    def after_attempt(self, outcome: Outcome, now: float) -> float | None:
        """Seconds to wait before the next attempt, or None to stop and report this outcome."""
        ...


class NoRetry:
    """One attempt, whatever happens."""

    def after_attempt(self, outcome: Outcome, now: float) -> float | None:
        return None


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
        policy: RetryPolicy | None = None,
    ) -> None:
        self.name = name
        self.port = port
        self._stub = stub
        self._rng = rng
        self._timeout = timeout
        self._policy = policy or NoRetry()
        self._http = network.http_client(timeout=timeout, max_connections=pool_size)
        self.attempts = 0

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
        attempt = 0
        while True:
            attempt += 1
            self.attempts += 1
            response, outcome = await self._attempt(method, path, headers or {}, content, deadline, attempt)
            delay = self._policy.after_attempt(outcome, anyio.current_time())
            if delay is None or (deadline is not None and anyio.current_time() + delay >= deadline):
                if response is None:
                    raise CallFailed(self.name, outcome.failure or "no response")
                return response
            await anyio.sleep(delay)

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
