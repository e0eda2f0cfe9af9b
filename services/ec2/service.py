"""The EC2-like service assembled: DWFM, the API node behind `ec2.us-east-1.cloud.test`, and a launch canary.

DWFM's and the Network Manager's queues admit work as the policy set's servers do, unless the scenario gives
either its own limit: `dwfm_max_queue` (lease work admitted by the size of DWFM's queue; the rest waits for the next
scan) or `netmgr_max_queue` (launches refused while the propagation queue is that long; services/ec2/netmgr.py).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from services import runtime
from services.client.service_client import ServiceClient
from services.dns.stub import StubResolver
from services.ec2.api import Ec2Api
from services.ec2.canary import LaunchCanary
from services.ec2.dwfm import DropletWorkflowManager, DwfmSettings
from services.ec2.fleet import Fleet
from services.ec2.netmgr import NetworkManager
from services.events import EventLog
from services.net.network import Address, Network
from services.node.capacity import CapacitySpec
from services.node.restartable import HttpNode
from services.runtime import TaskStatus
from services.throttling.admission import QueueSizeAdmission
from services.throttling.base import ClientPolicy
from services.throttling.settings import ServerPolicy

EC2_NAME = "ec2.us-east-1.cloud.test"


class Ec2Service:
    def __init__(
        self,
        network: Network,
        stub: StubResolver,
        events: EventLog,
        settings: DwfmSettings,
        *,
        address: Address,
        dynamodb_name: str,
        dynamodb_port: int,
        api_spec: CapacitySpec,
        slots_per_droplet: int,
        canary_interval: float,
        rng_for: Callable[[str], random.Random],
        netmgr_workers: int = 1,
        propagation_time: float = 0.2,
        dwfm_max_queue: int | None = None,
        netmgr_max_queue: int | None = None,
        client_policy: Callable[[str], ClientPolicy],
        server_policy: Callable[[], ServerPolicy],
    ) -> None:
        self.network = network
        self.address = address
        server = server_policy()
        self.dynamodb = ServiceClient(
            network,
            stub,
            dynamodb_name,
            dynamodb_port,
            rng_for("dwfm-client"),
            timeout=2.0,
            policy=client_policy("dwfm"),
        )
        self.dwfm = DropletWorkflowManager(
            settings,
            self.dynamodb,
            events,
            rng_for("dwfm"),
            admission=server.admission if dwfm_max_queue is None else QueueSizeAdmission(max_queue=dwfm_max_queue),
            discipline=server.discipline,
            drop_expired=server.drop_expired,
        )
        net = server_policy()
        self.netmgr = NetworkManager(
            events,
            rng_for("netmgr"),
            workers=netmgr_workers,
            propagation_time=propagation_time,
            max_queue=netmgr_max_queue,
            admission=net.admission,
            discipline=net.discipline,
        )
        self.fleet = Fleet(slots_per_droplet)
        self.api = Ec2Api("ec2-1", self.dwfm, self.fleet, api_spec, rng_for("ec2-1"), self.netmgr, events)
        self.api_node = HttpNode("ec2-api", network, self.api.routes, address, events)
        self.canary_client = ServiceClient(network, stub, EC2_NAME, address[1], rng_for("canary"), timeout=5.0)
        self.canary = LaunchCanary(self.canary_client, events, interval=canary_interval)

    async def run(self, *, task_status: TaskStatus[None] = runtime.TASK_STATUS_IGNORED) -> None:
        """Serve the API, bring DWFM to steady state, report `started`, then run the canary until cancelled."""
        async with runtime.create_task_group() as tg:
            await tg.start(self.api_node.run)
            tg.start_soon(self.netmgr.run)
            await tg.start(self.dwfm.run)
            # From steady state on, a droplet whose lease is re-established needs its network state pushed again.
            self.dwfm.on_established = lambda droplet: self.netmgr.propagate(f"d-{droplet:05d}")
            task_status.started()
            await self.canary.run()
