"""The Network seam: virtual delivery with modelled latency, and real loopback sockets in live mode."""

from __future__ import annotations

import contextlib
import socket
import time

import anyio
import httpx
import pytest
import trio
import trio.testing

from services.errors import ListenError, NodeUnreachable
from services.net.http import HttpRequest, HttpResponse, Routes, text_response
from services.net.network import Address, HttpClient, LiveNetwork
from services.net.virtual_network import VirtualNetwork
from tests.helpers import assert_port_free, free_port


async def hello(request: HttpRequest) -> HttpResponse:
    return text_response(f"hello from {request.headers['host'].partition(':')[0]}")


async def slow(request: HttpRequest) -> HttpResponse:
    await anyio.sleep(10)
    return text_response("late")


APP = Routes([("GET", "/", hello), ("GET", "/slow", slow)])


async def echo(payload: bytes, peer: Address) -> bytes | None:
    return None if payload == b"drop" else payload.upper()


async def test_virtual_http_pays_the_link_latency_both_ways(autojump_clock: trio.testing.MockClock) -> None:
    """A virtual request reaches the app registered at its address and takes 2 × latency of virtual time."""
    network = VirtualNetwork(latency=0.25)
    async with trio.open_nursery() as nursery:
        await nursery.start(network.serve_http, APP, ("127.0.1.1", 8000))
        async with network.http_client(timeout=5) as client:
            start = trio.current_time()
            response = await client.get("http://127.0.1.1:8000/")
            assert response.text == "hello from 127.0.1.1"
            assert trio.current_time() - start == pytest.approx(0.5)
            with pytest.raises(httpx.ReadTimeout):
                await client.get("http://127.0.1.1:8000/slow")
            with pytest.raises(httpx.ConnectError):
                await client.get("http://127.0.1.2:8000/")
        nursery.cancel_scope.cancel()


async def test_virtual_udp_delivers_times_out_and_refuses(autojump_clock: trio.testing.MockClock) -> None:
    """A reply comes back; a dropped datagram is a timeout; a port nobody serves is unreachable."""
    network = VirtualNetwork()
    async with trio.open_nursery() as nursery:
        address = await nursery.start(network.serve_udp, echo, ("127.0.0.1", 0))
        assert await network.udp_exchange(address, b"ping", 1) == b"PING"
        with pytest.raises(TimeoutError):
            await network.udp_exchange(address, b"drop", 1)
        with pytest.raises(NodeUnreachable):
            await network.udp_exchange(("127.0.0.1", 1), b"ping", 1)
        with pytest.raises(OSError, match="in use"):
            await nursery.start(network.serve_udp, echo, address)
        nursery.cancel_scope.cancel()


async def test_addresses_off_loopback_are_refused() -> None:
    """Nothing is ever sent or served outside 127.0.0.0/8."""
    with pytest.raises(ValueError, match="loopback"):
        await LiveNetwork().udp_exchange(("10.0.0.1", 53), b"x", 1)
    with pytest.raises(ValueError, match="loopback"):
        await VirtualNetwork().serve_udp(echo, ("192.168.1.1", 53))


async def _serve_ask_and_cancel() -> None:
    network = LiveNetwork()
    http_address = ("127.0.9.1", free_port("127.0.9.1"))
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            await tg.start(network.serve_http, APP, http_address)
            udp_address = await tg.start(network.serve_udp, echo, ("127.0.9.1", 0))
            async with network.http_client(timeout=5) as client:
                response = await client.get(f"http://{http_address[0]}:{http_address[1]}/")
                assert response.text == "hello from 127.0.9.1"
                assert await network.udp_exchange(udp_address, b"ping", 2) == b"PING"
                tg.start_soon(_ask_slowly, client, http_address)  # still waiting for its answer when the server stops
                await anyio.sleep(0.2)
                tg.cancel_scope.cancel()
        with pytest.raises(NodeUnreachable):
            await network.udp_exchange(udp_address, b"ping", 2)
    assert_port_free(http_address, socket.SOCK_STREAM)
    assert_port_free(udp_address, socket.SOCK_DGRAM)


async def _ask_slowly(client: HttpClient, address: Address) -> None:
    with contextlib.suppress(httpx.HTTPError):
        await client.get(f"http://{address[0]}:{address[1]}/slow")


@pytest.mark.live
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_live_http_and_udp_on_loopback_and_ports_are_freed_on_cancel(backend: str) -> None:
    """On either event loop, Hypercorn serves on its own 127.x address and UDP echoes; cancelling stops both, with a
    request still in flight, within the graceful stop, and frees both ports."""
    started = time.monotonic()
    anyio.run(_serve_ask_and_cancel, backend=backend)
    assert time.monotonic() - started < 5


async def _cancel_while_starting(address: Address) -> None:
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            scope.cancel()
            await tg.start(LiveNetwork().serve_http, APP, address)


@pytest.mark.live
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_server_cancelled_while_it_starts_frees_its_port(backend: str) -> None:
    """A run stopped while its nodes start (a sibling's address was busy) leaves no port bound."""
    address = ("127.0.9.3", free_port("127.0.9.3"))
    anyio.run(_cancel_while_starting, address, backend=backend)
    assert_port_free(address, socket.SOCK_STREAM)


@pytest.mark.live
async def test_a_busy_address_is_a_listen_error_naming_it() -> None:
    """Serving where something already listens fails with ListenError naming protocol and address."""
    network = LiveNetwork()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
        udp.bind(("127.0.9.2", 0))
        tcp.bind(("127.0.9.2", 0))
        tcp.listen()
        udp_address, tcp_address = udp.getsockname(), tcp.getsockname()
        with pytest.raises(ListenError, match=f"cannot listen on udp 127.0.9.2:{udp_address[1]}"):
            await network.serve_udp(echo, udp_address)
        with pytest.raises(ListenError, match=f"cannot listen on http 127.0.9.2:{tcp_address[1]}"):
            await network.serve_http(APP, tcp_address)
