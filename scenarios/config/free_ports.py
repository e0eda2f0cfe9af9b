"""A scenario moved onto loopback ports that nothing uses now, so that its live cloud can run beside another one
(a test suite's, say) or where its usual ports are taken. The kernel picks each port."""

from __future__ import annotations

import socket
from typing import Any

from scenarios.config.schema import Scenario
from services.net.addresses import DNS_HOST, EC2_HOST, LAMBDA_HOST, declared_host, router_host


def free_port(host: str, kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A port that nothing on `host` uses right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def on_free_ports(scenario: Scenario) -> Scenario:
    """The scenario with every port it listens on moved to one that nothing uses now."""
    udp = socket.SOCK_DGRAM
    authority = free_port(DNS_HOST, udp)
    resolver = free_port(DNS_HOST, udp)
    while resolver == authority:
        resolver = free_port(DNS_HOST, udp)
    update: dict[str, Any] = {
        "dns": scenario.dns.model_copy(update={"authority_port": authority, "resolver_port": resolver}),
        "dynamodb": scenario.dynamodb.model_copy(update={"port": free_port(router_host(1))}),
    }
    if scenario.ec2 is not None:
        update["ec2"] = scenario.ec2.model_copy(update={"port": free_port(EC2_HOST)})
    if scenario.lambda_ is not None:
        update["lambda_"] = scenario.lambda_.model_copy(update={"port": free_port(LAMBDA_HOST)})
    if scenario.services:  # declared services, and an NLB's targets and nodes
        port = free_port(declared_host(1))
        update["services"] = tuple(s.model_copy(update={"port": port}) for s in scenario.services)
    return scenario.model_copy(update=update)
