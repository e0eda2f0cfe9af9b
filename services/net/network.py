"""The Network seam: the only way nodes reach each other.

Services never open sockets or build HTTP clients themselves; they ask a `Network`, the way Hypercorn's protocol
code asks its WorkerContext for `sleep()` and `time()`. Two implementations:

- `LiveNetwork`: every HTTP node is a Hypercorn server on its own loopback address, and UDP is real UDP.
- `VirtualNetwork` (services/net/virtual_network.py): requests are handed to the target node in-process, after a
  modelled link latency, so the same code runs on a virtual clock (services/runtime/kernel.py; trio's MockClock in unit
  tests) and hours of simulated time pass in seconds.

Addresses are always (host, port) on loopback (services/net/addresses.py); anything else is refused before a
packet leaves.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, cast

import anyio
import httpx
import sniffio
from anyio.abc import TaskStatus

from services.errors import ListenError, NodeUnreachable
from services.net.addresses import LOOPBACK_NETWORK
from services.net.http import HttpResponse, Routes
from services.net.outside import OWN_AGENT

Address = tuple[str, int]
UdpHandler = Callable[[bytes, Address], Awaitable[bytes | None]]

MAX_UDP_PAYLOAD = 65535
LISTEN_BACKLOG = 100  # Hypercorn's default
STOP_MARGIN = 5.0  # seconds a stopping server may take past its graceful timeout before it is cancelled


def require_loopback(host: str) -> None:
    """Refuse any address outside loopback: cascadesim never sends traffic off this machine."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address; nodes listen on loopback addresses only") from None
    if not ip.is_loopback:
        raise ValueError(f"{host} is not a loopback address ({LOOPBACK_NETWORK})")


class Network(ABC):
    """How nodes serve and reach each other."""

    @abstractmethod
    async def serve_http(
        self, routes: Routes, address: Address, *, task_status: TaskStatus[Address] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve a node's routes at `address` until cancelled; report the bound address through
        task_status."""

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
    def http_client(self, *, timeout: float, max_connections: int = 4) -> HttpClient:
        """An HTTP client for calling nodes; one per downstream, with a small pool."""

    @abstractmethod
    async def udp_exchange(self, address: Address, payload: bytes, timeout: float) -> bytes:
        """Send one datagram and return the first reply.

        Raises TimeoutError when no reply comes in time and NodeUnreachable when nothing listens.
        """


class HttpClient(ABC):
    """What nodes and clients call each other with. A request that gets no HTTP response raises httpx's errors
    (httpx.TimeoutException for a timeout, another httpx.HTTPError otherwise), live and virtual alike."""

    @abstractmethod
    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes = b"",
        timeout: float | None = None,
    ) -> HttpResponse: ...

    async def get(self, url: str, *, timeout: float | None = None) -> HttpResponse:
        return await self.request("GET", url, timeout=timeout)

    async def aclose(self) -> None:  # noqa: B027 - nothing to close in-process; the live client overrides it
        """Close the client's connections."""

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _HttpxClient(HttpClient):
    """httpx over real sockets, with its answers read into the nodes' own HttpResponse."""

    def __init__(self, timeout: float, max_connections: int) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client = httpx.AsyncClient(
            timeout=timeout, limits=limits, trust_env=False, headers={"user-agent": OWN_AGENT}
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes = b"",
        timeout: float | None = None,
    ) -> HttpResponse:
        response = await self._client.request(
            method,
            url,
            headers=headers,
            content=content,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )
        return HttpResponse(response.status_code, dict(response.headers.items()), response.content)

    async def aclose(self) -> None:
        await self._client.aclose()


class LiveNetwork(Network):
    """Real sockets on loopback: Hypercorn for HTTP, UDP datagram sockets for DNS."""

    async def serve_http(
        self, routes: Routes, address: Address, *, task_status: TaskStatus[Address] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        await self.serve_asgi(routes.asgi, address, task_status=task_status)

    async def serve_asgi(
        self, app: Any, address: Address, *, task_status: TaskStatus[Address] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve an ASGI app with Hypercorn at `address` (port 0: one the kernel picks, reported as started)."""
        from hypercorn.config import Config, Sockets
        from hypercorn.utils import wrap_app

        require_loopback(address[0])
        config = Config()
        config.accesslog = None
        config.loglevel = "WARNING"
        config.graceful_timeout = 0.5
        worker_serve: Any
        if sniffio.current_async_library() == "trio":
            from hypercorn.trio.run import worker_serve
        else:
            from hypercorn.asyncio.run import worker_serve
        # Bound and listening before Hypercorn starts: the address reported is already taking connections
        # (Hypercorn's asyncio worker has no "started" of its own), a busy address fails here, clearly, and the
        # socket is this function's to close whatever becomes of the server.
        sock = _listening_socket(address)
        # Hypercorn stops by its shutdown trigger, not by being cancelled (its asyncio worker fails if cancelled
        # while it stops), so it runs shielded, and a cancellation here pulls the trigger and bounds the stop.
        shutdown = anyio.Event()
        stopping = anyio.CancelScope(shield=True)
        serve = partial(worker_serve, wrap_app(cast(Any, app), config.wsgi_max_body_size, "asgi"), config)
        try:
            async with anyio.create_task_group() as tg:
                # Not `tg.start`: anyio waits for a task it is starting to end if the start is cancelled, and a
                # shielded server whose trigger is pulled only below would never end.
                tg.start_soon(_run_hypercorn, serve, Sockets([], [sock], []), shutdown, stopping)
                try:
                    bound = sock.getsockname()
                    task_status.started((str(bound[0]), int(bound[1])))  # it listens: connections wait in its backlog
                    await anyio.sleep_forever()
                finally:
                    shutdown.set()
                    stopping.deadline = anyio.current_time() + config.graceful_timeout + STOP_MARGIN
        finally:
            sock.close()

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

    def http_client(self, *, timeout: float, max_connections: int = 4) -> HttpClient:
        return _HttpxClient(timeout, max_connections)

    async def udp_exchange(self, address: Address, payload: bytes, timeout: float) -> bytes:
        host, port = address
        require_loopback(host)
        # A plain connected socket, not anyio's: on asyncio, anyio's UDP socket keeps the ICMP "port unreachable"
        # to itself and the exchange would wait out its timeout instead of failing at once, as it does on trio.
        with anyio.fail_after(timeout), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            try:
                sock.connect((host, port))
                sock.send(payload)
                while True:
                    await anyio.wait_readable(sock)
                    try:
                        return sock.recv(MAX_UDP_PAYLOAD)
                    except BlockingIOError:  # woken for nothing: wait again
                        continue
            except ConnectionRefusedError:  # ICMP port unreachable
                raise NodeUnreachable(f"nothing listens on udp {host}:{port}") from None


def _listening_socket(address: Address) -> socket.socket:
    """A non-blocking TCP socket bound to `address` and listening, set up as Hypercorn sets up its own."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ListenError("http", address, exc) from None
    return sock


async def _run_hypercorn(serve: Any, sockets: Any, shutdown: anyio.Event, stopping: anyio.CancelScope) -> None:
    with stopping:
        try:
            await serve(sockets=sockets, shutdown_trigger=shutdown.wait)
        except Exception:
            # Cut short past its graceful stop (STOP_MARGIN), Hypercorn's asyncio worker fails in its own clean-up
            # (asyncio.InvalidStateError): the server is gone, which is what was asked.
            if not stopping.cancel_called:
                raise


async def _answer_datagram(
    sock: Any, send_lock: anyio.Lock, handler: UdpHandler, payload: bytes, peer: Address
) -> None:
    reply = await handler(payload, peer)
    if reply is not None:
        # The asker may have gone away; a UDP server has nobody to tell.
        with contextlib.suppress(OSError, anyio.BrokenResourceError):
            async with send_lock:
                await sock.sendto(reply, peer[0], peer[1])
