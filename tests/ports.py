"""Loopback port helpers for the tests that open real sockets."""

from __future__ import annotations

import re
import socket
from pathlib import Path


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


def on_free_ports(directory: Path, name: str) -> Path:
    """A copy of scenarios/NAME.toml in `directory`, every listening port moved to one that nothing uses now."""
    text = Path(__file__).resolve().parents[1].joinpath("scenarios", f"{name}.toml").read_text()
    text = re.sub(r"^(authority_port|resolver_port|port) = \d+\n", "", text, flags=re.M)
    udp = socket.SOCK_DGRAM
    ports = {
        "dns": f"authority_port = {free_port('127.0.0.1', udp)}\nresolver_port = {free_port('127.0.0.1', udp)}\n",
        "dynamodb": f"port = {free_port('127.0.1.1')}\n",
        "ec2": f"port = {free_port('127.0.2.1')}\n",
        "lambda": f"port = {free_port('127.0.3.1')}\n",
    }
    for section, keys in ports.items():
        if f"[{section}]\n" in text:
            text = text.replace(f"[{section}]\n", f"[{section}]\n{keys}")
        elif section in ("dns", "dynamodb"):
            text += f"\n[{section}]\n{keys}"
    path = directory / f"{name}.toml"
    path.write_text(text)
    return path
