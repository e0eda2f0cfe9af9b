"""The Network seam: the only way nodes reach each other.

Services never open sockets or build HTTP clients themselves; they ask a `Network`, the way Hypercorn's protocol
code asks its WorkerContext for `sleep()` and `time()`. Two implementations:

- `LiveNetwork`: every HTTP node is a Hypercorn server on its own loopback address, and UDP is real UDP.
- `VirtualNetwork`: requests are handed to the target node in-process, after a modelled link latency, so the
  same code runs under `trio.testing.MockClock` and hours of simulated time pass in seconds.

Addresses are always (host, port) on loopback (127.0.0.0/8); anything else is refused before a packet leaves.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import random
import socket
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import anyio
import httpx
import sniffio
from anyio.abc import TaskStatus

from services.errors import ListenError, NodeUnreachable

Address = tuple[str, int]
UdpHandler = Callable[[bytes, Address], Awaitable[bytes | None]]
ASGIApp = Callable[..., Awaitable[None]]

MAX_UDP_PAYLOAD = 65535


def require_loopback(host: str) -> None:
    """Refuse any address outside 127.0.0.0/8: cascadesim never sends traffic off this machine."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address; nodes listen on loopback addresses only") from None
    if not ip.is_loopback:
        raise ValueError(f"{host} is not a loopback address (127.0.0.0/8)")


class Network(ABC):
    """How nodes serve and reach each other."""

    @abstractmethod
    async def serve_http(
        self, app: ASGIApp, address: Address, *, task_status: TaskStatus[Address] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve an ASGI app at `address` until cancelled; report the bound address through task_status."""

    @abstractmethod
    async def serve_udp(
        self,
        handler: UdpHandler,
        address: Address,
        *,
        task_status: TaskStatus[Address] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Answer datagrams at `address` with `handler` until cancelled (port 0 picks a free port)."""

    @abstractmethod
    def http_client(self, *, timeout: float, max_connections: int = 4) -> httpx.AsyncClient:
        """An HTTP client for calling nodes; one per downstream, with a small pool."""

    @abstractmethod
    async def udp_exchange(self, address: Address, payload: bytes, timeout: float) -> bytes:
        """Send one datagram and return the first reply.

        Raises TimeoutError when no reply comes in time and NodeUnreachable when nothing listens.
        """


class LiveNetwork(Network):
    """Real sockets on loopback: Hypercorn for HTTP, UDP datagram sockets for DNS."""

    async def serve_http(
        self, app: ASGIApp, address: Address, *, task_status: TaskStatus[Address] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        from hypercorn.config import Config

        host, port = address
        require_loopback(host)
        config = Config()
        config.bind = [f"{host}:{port}"]
        config.accesslog = None
        config.loglevel = "WARNING"
        config.graceful_timeout = 0.5
        shutdown = anyio.Event()
        hypercorn_serve: Any
        if sniffio.current_async_library() == "trio":
            from hypercorn.trio import serve as hypercorn_serve
        else:
            from hypercorn.asyncio import serve as hypercorn_serve
        _check_bindable(address)
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(partial(_run_hypercorn, hypercorn_serve, app, config, shutdown))
                task_status.started(address)
        finally:
            shutdown.set()

    async def serve_udp(
        self,
        handler: UdpHandler,
        address: Address,
        *,
        task_status: TaskStatus[Address] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        host, port = address
        require_loopback(host)
        try:
            sock = await anyio.create_udp_socket(local_host=host, local_port=port)
        except OSError as exc:
            raise ListenError("udp", address, exc) from None
        async with sock:
            bound = sock.extra(anyio.abc.SocketAttribute.local_address)
            task_status.started((str(bound[0]), int(bound[1])))
            send_lock = anyio.Lock()  # anyio sockets allow one writer at a time; handlers finish concurrently
            async with anyio.create_task_group() as tg:
                async for payload, peer in sock:
                    tg.start_soon(_answer_datagram, sock, send_lock, handler, payload, (str(peer[0]), int(peer[1])))

    def http_client(self, *, timeout: float, max_connections: int = 4) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        return httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False)

    async def udp_exchange(self, address: Address, payload: bytes, timeout: float) -> bytes:
        host, port = address
        require_loopback(host)
        with anyio.fail_after(timeout):
            async with await anyio.create_connected_udp_socket(remote_host=host, remote_port=port) as sock:
                try:
                    await sock.send(payload)
                    return await sock.receive()
                except (ConnectionRefusedError, anyio.BrokenResourceError):  # ICMP port unreachable
                    raise NodeUnreachable(f"nothing listens on udp {host}:{port}") from None


def _check_bindable(address: Address) -> None:
    """Fail early and clearly on a busy address (Hypercorn would leak its socket and raise from deep inside)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Hypercorn does
        try:
            probe.bind(address)
            probe.listen()
        except OSError as exc:
            raise ListenError("http", address, exc) from None


async def _run_hypercorn(
    serve: Any, app: ASGIApp, config: Any, shutdown: anyio.Event, *, task_status: TaskStatus[None]
) -> None:
    if sniffio.current_async_library() == "trio":
        await serve(app, config, shutdown_trigger=shutdown.wait, task_status=task_status)
    else:
        task_status.started()
        await serve(app, config, shutdown_trigger=shutdown.wait)


async def _answer_datagram(
    sock: Any, send_lock: anyio.Lock, handler: UdpHandler, payload: bytes, peer: Address
) -> None:
    reply = await handler(payload, peer)
    if reply is not None:
        # The asker may have gone away; a UDP server has nobody to tell.
        with contextlib.suppress(OSError, anyio.BrokenResourceError):
            async with send_lock:
                await sock.sendto(reply, peer[0], peer[1])


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
        return httpx.AsyncClient(transport=_VirtualTransport(self), timeout=timeout)

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
        network = self._network
        done = anyio.Event()
        outcome: list[httpx.Response | BaseException] = []

        async def handle() -> None:
            try:
                await anyio.sleep(network.latency)
                response = await httpx.ASGITransport(app=app).handle_async_request(request)
                await response.aread()
                outcome.append(response)
            except Exception as exc:
                outcome.append(exc)
            finally:
                done.set()

        node.start_soon(handle)
        try:
            with anyio.fail_after(limit):
                await done.wait()
                await anyio.sleep(network.latency)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no response within {limit} s", request=request) from None
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]
