"""The virtual Network: in-process delivery with modelled link latency, for virtual time (see net/network.py)."""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

import httpx

from services import runtime
from services.errors import NodeUnreachable
from services.net.addresses import IN_PROCESS_PEER
from services.net.http import HttpRequest, HttpResponse, Routes
from services.net.network import Address, HttpClient, Network, UdpHandler, require_loopback
from services.runtime import TaskStatus

Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class VirtualNetwork(Network):
    """In-process delivery with a modelled one-way link latency, for virtual time.

    Each hop (a request, and its reply) takes `latency` seconds, or |Normal(latency, latency_sd)| when a standard
    deviation and a seeded `rng` are given (the network model of the AWS Architecture Blog's backoff simulator).
    """

    def __init__(self, latency: float = 0.0005, latency_sd: float = 0.0, rng: random.Random | None = None) -> None:
        if not math.isfinite(latency) or latency < 0:
            raise ValueError(f"latency = {latency}: must be a finite number >= 0")
        if latency_sd > 0 and rng is None:
            raise ValueError("a latency_sd needs a seeded rng")
        self._latency = latency
        self._latency_sd = latency_sd
        self._rng = rng
        self._http: dict[Address, tuple[Handler, runtime.TaskGroup]] = {}
        self._udp: dict[Address, UdpHandler] = {}
        self._next_port = 40000

    @property
    def latency(self) -> float:
        """One hop's delay: the mean, or a fresh draw when the network has variance."""
        if self._rng is None or self._latency_sd <= 0:
            return self._latency
        return abs(self._rng.normalvariate(self._latency, self._latency_sd))

    def _claim(self, table: dict[Address, Any], address: Address, value: Any) -> Address:
        host, port = address
        require_loopback(host)
        if port == 0:
            self._next_port += 1
            port = self._next_port
        if (host, port) in table:
            raise OSError(f"address already in use: {host}:{port}")
        table[(host, port)] = value
        return (host, port)

    async def serve_http(
        self, routes: Routes, address: Address, *, task_status: TaskStatus[Address] = runtime.TASK_STATUS_IGNORED
    ) -> None:
        # Requests run in the node's own task group, so a client that gives up does not cancel the server's work.
        async with runtime.create_task_group() as node:
            bound = self._claim(self._http, address, None)
            self._http[bound] = (routes.handle, node)
            try:
                task_status.started(bound)
                await runtime.sleep_forever()
            finally:
                del self._http[bound]
                node.cancel_scope.cancel()

    async def serve_udp(
        self,
        handler: UdpHandler,
        address: Address,
        *,
        task_status: TaskStatus[Address] = runtime.TASK_STATUS_IGNORED,
    ) -> None:
        bound = self._claim(self._udp, address, handler)
        try:
            task_status.started(bound)
            await runtime.sleep_forever()
        finally:
            del self._udp[bound]

    def http_client(self, *, timeout: float, max_connections: int = 4) -> HttpClient:
        return _VirtualClient(self, timeout)

    def http_node(self, address: Address) -> tuple[Handler, runtime.TaskGroup]:
        node = self._http.get(address)
        if node is None:
            raise NodeUnreachable(f"nothing listens on http {address[0]}:{address[1]}")
        return node

    async def udp_exchange(self, address: Address, payload: bytes, timeout: float) -> bytes:
        require_loopback(address[0])
        handler = self._udp.get(address)
        if handler is None:
            raise NodeUnreachable(f"nothing listens on udp {address[0]}:{address[1]}")
        with runtime.fail_after(timeout):
            await runtime.sleep(self.latency)
            reply = await handler(payload, IN_PROCESS_PEER)
            if reply is None:
                await runtime.sleep_forever()  # a dropped datagram: the asker waits out its timeout
                raise TimeoutError  # unreachable: sleep_forever only ends by cancellation
            await runtime.sleep(self.latency)
            return reply


@lru_cache(maxsize=4096)  # a run asks the same few URLs millions of times
def _url_parts(url: str) -> tuple[str, Address, str, str]:
    """host:port, the address, the path and the query of a plain http:// URL."""
    if not url.startswith("http://"):
        raise httpx.UnsupportedProtocol(f"the virtual network speaks plain http://, not {url!r}")
    host_port, _, rest = url[7:].partition("/")
    host, _, port = host_port.partition(":")
    path, _, query = ("/" + rest).partition("?")
    return host_port, (host, int(port or 80)), path, query


class _VirtualClient(HttpClient):
    """Hands a request to the node at its URL's host and port, in-process: the node's routes are called with the
    request itself (services/net/http.py), after the link latency, and the request's timeout covers the trip."""

    def __init__(self, network: VirtualNetwork, timeout: float) -> None:
        self._network = network
        self._timeout = timeout

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes = b"",
        timeout: float | None = None,
    ) -> HttpResponse:
        host_port, address, path, query = _url_parts(url)
        try:
            handle, node = self._network.http_node(address)
        except NodeUnreachable as exc:
            raise httpx.ConnectError(str(exc)) from None
        sent = {k.lower(): v for k, v in headers.items()} if headers else {}
        if "host" not in sent:  # as an HTTP client sends it
            sent["host"] = host_port
        request = HttpRequest(method, path, sent, content, query)
        limit = self._timeout if timeout is None else timeout
        # The trip: a hop of latency, the node's routes in the node's own task group (a client that gives up does
        # not cancel the server's work), a hop back; the caller's timeout covers it all. The node's task carries
        # the reply back too, so the caller wakes once, when it arrives.
        trip = _Trip(self._network, handle, request)
        node.start_soon(trip.serve)
        try:
            with runtime.fail_after(limit):
                await trip.arrived.wait()
        except TimeoutError:
            raise httpx.ReadTimeout(f"no response within {limit} s") from None
        outcome = trip.outcome
        if outcome is None:  # the node was killed with the request in it: the connection drops, as a dead process's
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class _Trip:
    """One request on its way to a node and back."""

    __slots__ = ("arrived", "handle", "network", "outcome", "request")

    def __init__(self, network: VirtualNetwork, handle: Handler, request: HttpRequest) -> None:
        self.network = network
        self.handle = handle
        self.request = request
        self.arrived = runtime.Event()
        self.outcome: HttpResponse | Exception | None = None

    async def serve(self) -> None:
        try:
            await runtime.sleep(self.network.latency)  # each hop its own draw, when the latency varies
            reply = await self.handle(self.request)
            await runtime.sleep(self.network.latency)
            self.outcome = reply
        except Exception as exc:
            self.outcome = exc
        finally:
            self.arrived.set()
