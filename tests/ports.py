"""Loopback port helpers for the tests that open real sockets."""

from __future__ import annotations

import socket


def free_port(host: str, kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A port that nothing on `host` uses right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def assert_port_free(address: tuple[str, int], kind: socket.SocketKind) -> None:
    """Nothing is bound there any more: a new server could take the port now.

    TCP uses SO_REUSEADDR like every server (Hypercorn included), so connections in TIME_WAIT do not count, but a
    socket still listening does (Linux refuses that bind). UDP has no TIME_WAIT and binds plainly.
    """
    with socket.socket(socket.AF_INET, kind) as s:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(address)
        if kind == socket.SOCK_STREAM:
            s.listen()
