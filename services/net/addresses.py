"""The address plan: where each part of the cloud listens on this machine's loopback network.

Every node has an address of its own in 127.0.0.0/8, so a live run needs no port juggling between nodes of one kind
and a packet capture reads like a map of the cloud. One third octet per kind of node:

    127.0.0.1      the DNS authority and the shared resolver (UDP), Locust's master, in-process peers
    127.0.1.N      DynamoDB's router N (the Planner's load-balancer addresses; nginx, when real nginx fronts them)
    127.0.2.1      the EC2 API
    127.0.3.1      Lambda
    127.0.4.N      router N's app when a real nginx holds 127.0.1.N
    127.0.5.N      the Nth declared service without an NLB
    127.0.6.N      an NLB's Nth target (declared services behind NLBs count on from one another)
    127.0.7.N      an NLB's Nth node (one per zone)

Ports come from the scenario (or from the kernel, with free ports): the address says what a node is.
"""

from __future__ import annotations

LOOPBACK_NETWORK = "127.0.0.0/8"
HOST = "127.0.0.1"
DNS_HOST = HOST
EC2_HOST = "127.0.2.1"
LAMBDA_HOST = "127.0.3.1"
DNS_AUTHORITY_PORT = 5300
DNS_RESOLVER_PORT = 5301
DECLARED_NETWORK = "127.0.5.0/24"
IN_PROCESS_PEER = (HOST, 0)  # the peer an in-process (virtual) request or datagram reports


def router_host(index: int) -> str:
    """DynamoDB's router `index` (1-based)."""
    return f"127.0.1.{index}"


def nginx_backend_host(index: int) -> str:
    """Router `index`'s app, when a real nginx holds the router's address."""
    return f"127.0.4.{index}"


def declared_host(index: int) -> str:
    """The `index`th (1-based) declared service that has no NLB."""
    return f"127.0.5.{index}"


def nlb_target_host(index: int) -> str:
    """An NLB's target, numbered on across the cloud's NLBs (1-based)."""
    return f"127.0.6.{index}"


def nlb_node_host(index: int) -> str:
    """An NLB's node, numbered on across the cloud's NLBs (1-based)."""
    return f"127.0.7.{index}"
