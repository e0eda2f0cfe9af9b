"""The EC2-like service's instances: where each runs, and the state a caller sees."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.ec2.netmgr import NetworkManager


@dataclass
class Instance:
    instance_id: str
    droplet: int
    launched_at: float
    state: str = "running"
    image_id: str = "ami-00000000"  # as the query protocol's RunInstances asked (the JSON API names none)
    instance_type: str = "m1.small"  # EC2's default type
    reservation_id: str = ""  # the launch it came from (query protocol)


@dataclass
class Fleet:
    """Instances by id, and how many each droplet hosts."""

    slots_per_droplet: int = 4
    instances: dict[str, Instance] = field(default_factory=dict)
    used: dict[int, int] = field(default_factory=dict)


def state_of(instance: Instance, netmgr: NetworkManager) -> str:
    """An instance whose network state has not propagated yet is still `pending` (no connectivity)."""
    return instance.state if netmgr.reachable(instance.instance_id) else "pending"
