"""The EC2-like API node: RunInstances, DescribeInstances, TerminateInstances, as JSON over HTTP for the cloud's own
users, and in EC2's query protocol (XML) for the SDKs (services/ec2/query.py).

Requests are `POST /` with a JSON body naming the `Action`; errors come back as `{"Error": {"Code", "Message"}}`
with EC2's status for the code: `InsufficientInstanceCapacity` (500) when no droplet holds a lease and has room,
`RequestLimitExceeded` (503) when the node's capacity model refuses the call, `InternalError` (500), and 400 for
bad parameters.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from services import runtime
from services.ec2 import query
from services.ec2.dwfm import DropletWorkflowManager
from services.ec2.fleet import Fleet, Instance, state_of
from services.ec2.netmgr import NetworkManager
from services.errors import CascadesimError
from services.events import EventLog
from services.net.http import (
    DEADLINE_HEADER,
    JSON,
    EncodedJson,
    HttpRequest,
    HttpResponse,
    Routes,
    encode_json,
    json_response,
    parse_deadline,
    respond,
)
from services.net.json_codec import loads
from services.net.query import QueryError, ec2_error, is_query, parse_form
from services.node.capacity import CapacityModel, CapacitySpec, DeadlineExceeded, Overloaded, Shed
from services.node.internal_errors import InternalErrors
from services.node.metrics import CONTENT_TYPE, prometheus_text

STATUS = {"InsufficientInstanceCapacity": 500, "RequestLimitExceeded": 503, "InternalError": 500}


class Ec2Error(CascadesimError):
    """An EC2 API error, answered as EC2 does: {"Error": {"Code": code, "Message": message}} (see STATUS)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class Ec2Api:
    def __init__(
        self,
        name: str,
        dwfm: DropletWorkflowManager,
        fleet: Fleet,
        spec: CapacitySpec,
        rng: random.Random,
        netmgr: NetworkManager,
        events: EventLog | None = None,
    ) -> None:
        self.name = name
        self.internal_errors = InternalErrors(
            name, events if events is not None else EventLog(runtime.current_time, 0.0)
        )
        self.netmgr = netmgr
        self.dwfm = dwfm
        self.fleet = fleet
        self._rng = rng
        self.capacity = CapacityModel(spec, rng)
        self.launch_failures = 0
        # Each instance's description as JSON, with the state it was written for: a DescribeInstances lists the
        # whole fleet (hundreds of instances), and re-encoding every one of them on every call was a fifth of a
        # replay's wall time. An instance is encoded again only when its state changes.
        self._encoded: dict[str, tuple[str, str]] = {}
        self.routes = Routes(
            [
                ("POST", "/", self._api),
                ("GET", "/health", self._health),
                ("GET", "/metrics", self._metrics),
            ]
        )

    async def _health(self, request: HttpRequest) -> HttpResponse:
        return json_response({"status": "ok", "node": self.name})

    async def _metrics(self, request: HttpRequest) -> HttpResponse:
        return respond(prometheus_text(self.name, self.capacity), 200, CONTENT_TYPE)

    async def _api(self, request: HttpRequest) -> HttpResponse:
        if is_query(request):
            return await self._query(request)
        try:
            try:
                body = loads(request.body or b"{}")
            except (ValueError, UnicodeDecodeError):
                raise Ec2Error("InvalidParameterValue", "the request body is not JSON") from None
            if not isinstance(body, dict):
                raise Ec2Error("InvalidParameterValue", "the request body must be a JSON object")
            action = body.get("Action")
            handler = {
                "RunInstances": self._run,
                "DescribeInstances": self._describe,
                "TerminateInstances": self._terminate,
            }.get(str(action))
            if handler is None:
                raise Ec2Error("InvalidAction", f"The action {action} is not valid for this web service.")
            deadline = parse_deadline(request.headers.get(DEADLINE_HEADER))
            result = await self.capacity.serve(deadline, lambda: _call(handler, body))
        except (Overloaded, Shed, DeadlineExceeded):
            return self._error("RequestLimitExceeded", "Request limit exceeded.")
        except Ec2Error as exc:
            return self._error(exc.code, exc.message)
        except Exception as exc:  # a bug of ours: answer as EC2 does, and report it
            self.internal_errors.record(exc, request.path, "InternalError")
            return self._error("InternalError", "An internal error has occurred")
        if isinstance(result, EncodedJson):
            return respond(result.text, 200, JSON)
        return json_response(result)

    async def _query(self, request: HttpRequest) -> HttpResponse:
        """EC2's query protocol, for the SDKs (services/ec2/query.py): the same work, answered in XML."""
        try:
            fields = parse_form(request.body)
            work = query.handler(self, query.check(fields), fields)
            deadline = parse_deadline(request.headers.get(DEADLINE_HEADER))
            reply: HttpResponse = await self.capacity.serve(deadline, lambda: _call_sync(work))
        except (Overloaded, Shed, DeadlineExceeded):
            return ec2_error("RequestLimitExceeded", "Request limit exceeded.", 503)
        except QueryError as exc:
            return ec2_error(exc.code, exc.message, exc.status)
        except Ec2Error as exc:
            return ec2_error(exc.code, exc.message, STATUS.get(exc.code, 400))
        except Exception as exc:  # a bug of ours: answer as EC2 does, and report it
            self.internal_errors.record(exc, request.path, "InternalError")
            return ec2_error("InternalError", "An internal error has occurred", 500)
        return reply

    def _error(self, code: str, message: str) -> HttpResponse:
        return json_response({"Error": {"Code": code, "Message": message}}, STATUS.get(code, 400))

    def _run(self, body: dict[str, Any]) -> dict[str, Any]:
        count = body.get("MinCount", 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 100:
            raise Ec2Error("InvalidParameterValue", "MinCount must be an integer between 1 and 100")
        return {"Instances": [_describe(i, self.netmgr) for i in self.launch(count, count)]}

    def launch(
        self, min_count: int, max_count: int, *, image_id: str = "ami-00000000", instance_type: str = "m1.small"
    ) -> list[Instance]:
        """As many instances as the droplets with a live lease have room for, up to `max_count`; fewer than
        `min_count` is InsufficientInstanceCapacity, and a launch the Network Manager's backlog refuses (AWS's fix)
        is RequestLimitExceeded."""
        if not self.netmgr.admits():  # AWS's fix: no new instance while its network state would wait in a backlog
            self.launch_failures += 1
            raise Ec2Error("RequestLimitExceeded", "Request limit exceeded.")
        fleet = self.fleet
        hosts, free = self._hosts(max_count)
        if free < min_count:
            self.launch_failures += 1
            raise Ec2Error(
                "InsufficientInstanceCapacity",
                "We currently do not have sufficient capacity in the Availability Zone you requested.",
            )
        launched: list[Instance] = []
        for _ in range(min(free, max_count)):
            droplet = next(d for d in hosts if fleet.used.get(d, 0) < fleet.slots_per_droplet)
            fleet.used[droplet] = fleet.used.get(droplet, 0) + 1
            instance = Instance(
                f"i-{self._rng.getrandbits(64):016x}",
                droplet,
                runtime.current_time(),
                image_id=image_id,
                instance_type=instance_type,
            )
            fleet.instances[instance.instance_id] = instance
            self.netmgr.propagate(instance.instance_id)
            launched.append(instance)
        return launched

    def _hosts(self, count: int) -> tuple[list[int], int]:
        """The droplets a launch may use, in order (a live lease and a free slot), as far as `count` instances need,
        and their free slots: the whole fleet is looked at only when it cannot hold `count` more."""
        leases, used, slots, now = (
            self.dwfm.leases,
            self.fleet.used,
            self.fleet.slots_per_droplet,
            runtime.current_time(),
        )
        hosts, free = [], 0
        # The live leases first (a comprehension over the leases DWFM wrote: while DynamoDB is unreachable none is
        # live, and a failing launch costs no scan of the fleet), then in droplet order as far as `count` needs.
        for d in sorted([d for d, expiry in leases.items() if expiry > now]):
            if used.get(d, 0) < slots:
                hosts.append(d)
                free += slots - used.get(d, 0)
                if free >= count:
                    break
        return hosts, free

    def _describe(self, body: dict[str, Any]) -> EncodedJson:
        wanted = body.get("InstanceIds")
        if wanted is not None and not (isinstance(wanted, list) and all(isinstance(i, str) for i in wanted)):
            raise Ec2Error("InvalidParameterValue", "InstanceIds must be a list of strings")
        instances = self.fleet.instances
        chosen = [instances[i] for i in wanted if i in instances] if wanted is not None else list(instances.values())
        listed = ",".join([self._encode(i) for i in chosen])
        return EncodedJson(f'{{"Reservations":[{{"Instances":[{listed}]}}]}}')

    def _encode(self, instance: Instance) -> str:
        """json_response's encoding of the instance's description, kept until its state changes."""
        state = state_of(instance, self.netmgr)
        kept = self._encoded.get(instance.instance_id)
        if kept is None or kept[0] != state:
            kept = self._encoded[instance.instance_id] = (state, encode_json(_describe(instance, self.netmgr)))
        return kept[1]

    def _terminate(self, body: dict[str, Any]) -> dict[str, Any]:
        wanted = body.get("InstanceIds")
        if not (isinstance(wanted, list) and wanted and all(isinstance(i, str) for i in wanted)):
            raise Ec2Error("MissingParameter", "The request must contain the parameter InstanceIds")
        changes = []
        for instance_id in wanted:
            instance = self.terminate(instance_id)
            changes.append(
                {
                    "InstanceId": instance_id,
                    "CurrentState": {"Name": "terminated"},
                    "PreviousState": {"Name": instance.state},
                }
            )
        return {"TerminatingInstances": changes}

    def state(self, instance: Instance) -> str:
        return state_of(instance, self.netmgr)

    def terminate(self, instance_id: str) -> Instance:
        """The instance, gone from the fleet (its slot on the droplet freed); InvalidInstanceID.NotFound if none."""
        instance = self.fleet.instances.pop(instance_id, None)
        self._encoded.pop(instance_id, None)
        if instance is None:
            raise Ec2Error("InvalidInstanceID.NotFound", f"The instance ID '{instance_id}' does not exist")
        self.fleet.used[instance.droplet] -= 1
        return instance


async def _call(handler: Any, body: dict[str, Any]) -> dict[str, Any] | EncodedJson:
    result: dict[str, Any] | EncodedJson = handler(body)
    return result


async def _call_sync(work: Callable[[], HttpResponse]) -> HttpResponse:
    return work()


def _describe(instance: Instance, netmgr: NetworkManager) -> dict[str, Any]:
    """An instance whose network state has not propagated yet is still `pending` (no connectivity)."""
    return {
        "InstanceId": instance.instance_id,
        "State": {"Name": state_of(instance, netmgr)},
        "Placement": {"HostId": f"d-{instance.droplet:05d}"},
    }
