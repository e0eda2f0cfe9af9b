"""The internal client every service (and every virtual user) uses to call another: DNS name in, HTTP out.

What one logical request means (policy, resolution, address, headers, classification, retries) is the core in
services/client/exchange.py; this is its async engine, on the runtime seam (services/runtime/): the shared resolver's
caching stub for names, one HTTP client per downstream from the Network (httpx live, in-process virtual), and the
seam's sleep. `NoRetry` is the default policy.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any, TypeVar, cast

import httpx

from services import runtime
from services.client.exchange import (
    NoReply,
    Perform,
    Reply,
    Request,
    Resolve,
    Result,
    Send,
    Sleep,
    Step,
    exchange,
)
from services.dns.stub import StubResolver
from services.errors import CallFailed
from services.net.http import HttpResponse
from services.net.network import Network
from services.throttling.backoff import NoRetry
from services.throttling.base import ClientPolicy
from services.throttling.settings import bind_service

__all__ = ["ServiceClient"]

T = TypeVar("T")


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
        bind_service(self.policy, name)
        self._http = network.http_client(timeout=timeout, max_connections=pool_size)
        self.attempts = 0  # sent, over the client's life
        self.rejected_locally = 0  # refused by the client's own policy

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
    ) -> HttpResponse:
        """The final response (whatever its status) once the policy stops retrying.

        Raises CallFailed when the last attempt got no response at all (DNS, connection, timeout).
        """
        result = await self.call(method, path, headers=headers, content=content, deadline=deadline)
        if result.reply is None:
            raise CallFailed(self.name, result.outcome.failure or "no response")
        response: HttpResponse = result.reply.raw
        return response

    async def call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes = b"",
        deadline: float | None = None,
    ) -> Result:
        """One logical request, driven to its end: how it ended, and how many attempts it took."""
        return await self._call(Request(self.name, self.port, method, path, headers or {}, content), deadline)

    async def _call(self, request: Request, deadline: float | None) -> Result:
        call = self.policy.new_call()
        steps = exchange(
            request, call, self._rng, runtime.current_time, attempt_timeout=self._timeout, deadline=deadline
        )
        result = await self.drive(steps)
        self.attempts += result.attempts
        self.rejected_locally += result.rejected_locally
        return result

    async def drive(self, steps: Generator[Step, Any, T]) -> T:
        """Run a sans-I/O client generator (services/client/exchange.py) to its end with this client's I/O.

        This is services/sansio.drive_async with each step performed in the loop itself: it is the hot path of
        every virtual run, where a coroutine per step (and per cached name) cost more than the step.
        """
        answer: Any = None
        while True:
            try:
                step = steps.send(answer)
            except StopIteration as done:
                return cast(T, done.value)
            if type(step) is Resolve:
                answer = self._stub.cached(step.name)
                if answer is None:
                    answer = await self._stub.find(step.name)
            elif type(step) is Send:
                answer = await self._send(step)
            elif type(step) is Perform:
                answer = await self._call(step.request, step.deadline)
            elif type(step) is Sleep:
                answer = None
                if step.seconds > 0:
                    await runtime.sleep(step.seconds)
                else:  # an immediate retry: a yield to the scheduler per attempt cost more than the attempt itself
                    await runtime.checkpoint_if_cancelled()
            else:
                raise TypeError(f"not a step: {step!r}")

    async def _send(self, send: Send) -> Reply | NoReply:
        try:
            response = await self._http.request(
                send.method, send.url, headers=send.headers, content=send.body, timeout=send.timeout
            )
        except httpx.TimeoutException:
            return NoReply(f"timed out after {send.timeout:.3f} s")
        except httpx.HTTPError as exc:
            return NoReply(f"{type(exc).__name__}: {exc}")
        return Reply(response.status_code, response.headers, response.content, response)
