"""The virtual Network: in-process delivery with modelled link latency, for virtual time (see services/net.py)."""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc
import httpx
from anyio.abc import TaskStatus

from services.errors import NodeUnreachable
from services.net import Address, ASGIApp, Network, UdpHandler, require_loopback


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
        self._http: dict[Address, tuple[ASGIApp, anyio.abc.TaskGroup]] = {}
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
        self, app: ASGIApp, address: Address, *, task_status: TaskStatus[Address] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        # Requests run in the node's own task group, so a client that gives up does not cancel the server's work.
        async with anyio.create_task_group() as node:
            bound = self._claim(self._http, address, (app, node))
            try:
                task_status.started(bound)
                await anyio.sleep_forever()
            finally:
                del self._http[bound]
                node.cancel_scope.cancel()

    async def serve_udp(
        self,
        handler: UdpHandler,
        address: Address,
        *,
        task_status: TaskStatus[Address] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        bound = self._claim(self._udp, address, handler)
        try:
            task_status.started(bound)
            await anyio.sleep_forever()
        finally:
            del self._udp[bound]

    def http_client(self, *, timeout: float, max_connections: int = 4) -> httpx.AsyncClient:
        return _VirtualClient(self, transport=_VirtualTransport(self), timeout=timeout)

    def http_node(self, address: Address) -> tuple[ASGIApp, anyio.abc.TaskGroup]:
        node = self._http.get(address)
        if node is None:
            raise NodeUnreachable(f"nothing listens on http {address[0]}:{address[1]}")
        return node

    async def udp_exchange(self, address: Address, payload: bytes, timeout: float) -> bytes:
        require_loopback(address[0])
        handler = self._udp.get(address)
        if handler is None:
            raise NodeUnreachable(f"nothing listens on udp {address[0]}:{address[1]}")
        with anyio.fail_after(timeout):
            await anyio.sleep(self.latency)
            reply = await handler(payload, ("127.0.0.1", 0))
            if reply is None:
                await anyio.sleep_forever()  # a dropped datagram: the asker waits out its timeout
                raise TimeoutError  # unreachable: sleep_forever only ends by cancellation
            await anyio.sleep(self.latency)
            return reply


class _VirtualTransport(httpx.AsyncBaseTransport):
    """Hands an httpx request to the ASGI app registered at its host and port, after the link latency.

    httpx does not enforce timeouts on in-process transports, so the request's own timeout is applied here.
    """

    def __init__(self, network: VirtualNetwork) -> None:
        self._network = network

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        port = request.url.port or 80
        try:
            app, node = self._network.http_node((request.url.host, port))
        except NodeUnreachable as exc:
            raise httpx.ConnectError(str(exc), request=request) from None
        timeouts = request.extensions.get("timeout", {})
        limit = max((t for t in timeouts.values() if t is not None), default=None)

        async def serve() -> httpx.Response:
            response = await httpx.ASGITransport(app=app).handle_async_request(request)
            await response.aread()
            return response

        return await _deliver(self._network, node, serve, limit, request)


class _VirtualClient(httpx.AsyncClient):
    """An httpx client whose plain requests (an http:// URL string, bytes content, a float timeout) go straight
    to the node's ASGI app: the same latency, timeout and node task group as _VirtualTransport, without httpx's
    request building, redirects, auth and transport streams, which cost more than the simulated work itself.
    Anything else takes the full httpx path."""

    def __init__(self, network: VirtualNetwork, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._network = network

    async def request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Response:
        timeout = kwargs.get("timeout")
        plain = set(kwargs) <= {"headers", "content", "timeout"}
        if (
            not plain
            or not isinstance(timeout, int | float)
            or not isinstance(url, str)
            or not url.startswith("http://")
        ):
            return await super().request(method, url, **kwargs)
        host_port, _, path = url[len("http://") :].partition("/")
        host, _, port = host_port.partition(":")
        path, _, query = ("/" + path).partition("?")
        try:
            app, node = self._network.http_node((host, int(port or 80)))
        except NodeUnreachable as exc:
            raise httpx.ConnectError(str(exc)) from None
        headers = kwargs.get("headers") or {}
        content: bytes = kwargs.get("content") or b""
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.lower().encode(), str(v).encode()) for k, v in headers.items()]
            + [(b"content-length", str(len(content)).encode())],
            "client": ("127.0.0.1", 0),
            "server": (host, int(port or 80)),
        }
        return await _call_asgi(self._network, app, node, scope, content, float(timeout))


async def _call_asgi(
    network: VirtualNetwork, app: ASGIApp, node: anyio.abc.TaskGroup, scope: dict[str, Any], body: bytes, limit: float
) -> httpx.Response:
    done = anyio.Event()
    status: list[int] = []
    response_headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
            response_headers.extend(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    async def serve() -> httpx.Response:
        try:
            await app(scope, receive, send)
        finally:
            done.set()
        return httpx.Response(status[0] if status else 500, headers=response_headers, content=b"".join(chunks))

    return await _deliver(network, node, serve, limit)


async def _deliver(
    network: VirtualNetwork,
    node: anyio.abc.TaskGroup,
    serve: Callable[[], Awaitable[httpx.Response]],
    limit: float | None,
    request: httpx.Request | None = None,
) -> httpx.Response:
    """One request's trip: a hop of latency, `serve` in the node's own task group (a client that gives up does not
    cancel the server's work), a hop back; the caller's timeout covers it all."""
    finished = anyio.Event()
    outcome: list[httpx.Response | BaseException] = []

    async def handle() -> None:
        try:
            await anyio.sleep(network.latency)
            outcome.append(await serve())
        except Exception as exc:
            outcome.append(exc)
        finally:
            finished.set()

    node.start_soon(handle)
    try:
        with anyio.fail_after(limit):
            await finished.wait()
            await anyio.sleep(network.latency)
    except TimeoutError:
        raise httpx.ReadTimeout(f"no response within {limit} s", request=request) from None
    if not outcome:  # the node was killed with the request in it: the connection drops, as a dead process's would
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]
