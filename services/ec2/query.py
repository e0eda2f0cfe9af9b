"""EC2's query protocol on the EC2-like API: what an unmodified SDK (boto3's `ec2` client) sends and reads.

    POST /   Content-Type: application/x-www-form-urlencoded
             Action=RunInstances&Version=2016-11-15&ImageId=ami-…&MinCount=1&MaxCount=1&ClientToken=…

The actions: RunInstances, DescribeInstances (filters by `instance-id`, `instance-state-name`,
`instance-state-code`, `reservation-id`; `MaxResults` 5–1000 and `NextToken` paging), TerminateInstances and
DescribeInstanceStatus. Each runs the API's own logic (services/ec2/api.py) under the node's capacity model, so
a launch fails with `InsufficientInstanceCapacity` while DWFM holds no lease, as the cloud's own users see it.
Answers are EC2's XML (`<RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">`), errors EC2's
`<Response><Errors><Error>` with its codes and statuses (services/net/query.py).

The cloud's own EC2 users keep the API's JSON form (one client core for all of them); this is the door for the
SDKs. Not modelled: signatures (any credentials are taken), ClientToken's idempotency, reservations' security
groups and network interfaces, terminated instances lingering in DescribeInstances.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from services import runtime
from services.ec2.fleet import Fleet, Instance
from services.net.query import QueryError, boolean, filters, flat_list, integer, xml_response

VERSION = "2016-11-15"
NAMESPACE = f"http://ec2.amazonaws.com/doc/{VERSION}/"
ZONE = "us-east-1a"
STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}
INSTANCE_ID = re.compile(r"i-(?:[0-9a-f]{8}|[0-9a-f]{16,17})$")
# Parameters any action takes: the protocol's own, and those a signature or a request by URL adds.
COMMON = ("Action", "Version", "DryRun", "AWSAccessKeyId", "Signature", "SignatureMethod", "SignatureVersion",
          "Timestamp", "Expires", "SecurityToken", "X-Amz-")  # fmt: skip
ACCEPTED = {
    "RunInstances": ("ImageId", "MinCount", "MaxCount", "InstanceType", "ClientToken"),
    "DescribeInstances": ("InstanceId.", "Filter.", "MaxResults", "NextToken"),
    "TerminateInstances": ("InstanceId.",),
    "DescribeInstanceStatus": ("InstanceId.", "Filter.", "MaxResults", "NextToken", "IncludeAllInstances"),
}
FILTERS = ("instance-id", "instance-state-name", "instance-state-code", "reservation-id")


class Ec2Api(Protocol):
    """What the query protocol asks of the API (services/ec2/api.py)."""

    fleet: Fleet

    def launch(self, min_count: int, max_count: int, *, image_id: str, instance_type: str) -> list[Instance]: ...

    def terminate(self, instance_id: str) -> Instance: ...

    def state(self, instance: Instance) -> str: ...


def check(fields: Mapping[str, str]) -> str:
    """The action a well-formed request names; otherwise the error EC2 answers before doing anything."""
    action = fields.get("Action")
    if not action:
        raise QueryError("MissingAction", "The request must contain the parameter Action.")
    if action not in ACCEPTED:
        raise QueryError("InvalidAction", f"The action {action} is not valid for this web service.")
    version = fields.get("Version")
    if not version:
        raise QueryError("MissingParameter", "The request must contain the parameter Version.")
    if version != VERSION:
        raise QueryError("NoSuchVersion", f"The requested version ({version}) of service AmazonEC2 does not exist.")
    for name in fields:
        if not name.startswith(COMMON + ACCEPTED[action]) or (name.endswith(".") and name != "X-Amz-"):
            raise QueryError("UnknownParameter", f"The parameter {name} is not recognized.")
    if fields.get("DryRun", "false").lower() == "true":
        raise QueryError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)
    boolean(fields, "DryRun")
    return action


def handler(api: Ec2Api, action: str, fields: Mapping[str, str]) -> Callable[[], Any]:
    """The action's work, its parameters read and checked now (before the capacity model admits it)."""
    if action == "RunInstances":
        return _run(api, fields)
    if action == "TerminateInstances":
        return _terminate(api, fields)
    return _describe(api, action, fields)


def _run(api: Ec2Api, fields: Mapping[str, str]) -> Callable[[], Any]:
    image = fields.get("ImageId")
    if not image:
        raise QueryError("MissingParameter", "The request must contain the parameter ImageId")
    low, high = integer(fields, "MinCount"), integer(fields, "MaxCount")
    for name, value in (("MinCount", low), ("MaxCount", high)):
        if value is None:
            raise QueryError("MissingParameter", f"The request must contain the parameter {name}")
        if not 1 <= value <= 100:
            raise QueryError("InvalidParameterValue", f"Value ({value}) for parameter {name} is invalid.")
    assert low is not None and high is not None
    if low > high:
        raise QueryError("InvalidParameterValue", "MinCount must be less than or equal to MaxCount")
    kind = fields.get("InstanceType", "m1.small")

    def launch() -> Any:
        launched = api.launch(low, high, image_id=image, instance_type=kind)
        reservation = "r-" + launched[0].instance_id[2:]
        for instance in launched:
            instance.reservation_id = reservation
        return xml_response(
            "RunInstances",
            NAMESPACE,
            {
                "reservationId": reservation,
                "ownerId": "000000000000",
                "groupSet": [],
                "instancesSet": [_instance(api, i, index) for index, i in enumerate(launched)],
            },
        )

    return launch


def _terminate(api: Ec2Api, fields: Mapping[str, str]) -> Callable[[], Any]:
    wanted = _instance_ids(fields)
    if not wanted:
        raise QueryError("MissingParameter", "The request must contain the parameter InstanceId")

    def terminate() -> Any:
        _known(api, wanted)
        changes = []
        for instance_id in wanted:
            state = api.state(api.terminate(instance_id))
            changes.append(
                {
                    "instanceId": instance_id,
                    "currentState": {"code": STATE_CODES["terminated"], "name": "terminated"},
                    "previousState": {"code": STATE_CODES[state], "name": state},
                }
            )
        return xml_response("TerminateInstances", NAMESPACE, {"instancesSet": changes})

    return terminate


def _describe(api: Ec2Api, action: str, fields: Mapping[str, str]) -> Callable[[], Any]:
    wanted = _instance_ids(fields)
    chosen = filters(fields)
    for name in chosen:
        if name not in FILTERS:
            raise QueryError("InvalidParameterValue", f"The filter '{name}' is invalid")
    limit = integer(fields, "MaxResults")
    if limit is not None and wanted:
        raise QueryError(
            "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults"
        )
    if limit is not None and not 5 <= limit <= 1000:
        raise QueryError(
            "InvalidParameterValue", f"Value ( {limit} ) for parameter maxResults is invalid. Must be 5 to 1000."
        )
    after = _token(fields.get("NextToken"))
    everyone = action == "DescribeInstances" or boolean(fields, "IncludeAllInstances")

    def describe() -> Any:
        if wanted:
            _known(api, wanted)
        instances = sorted(api.fleet.instances.values(), key=lambda i: i.instance_id)
        picked = [
            i
            for i in instances
            if (not wanted or i.instance_id in wanted)
            and (after is None or i.instance_id > after)
            and (everyone or api.state(i) == "running")
            and _matches(api, i, chosen)
        ]
        page, rest = (picked[:limit], picked[limit:]) if limit is not None else (picked, [])
        token = _encode_token(page[-1].instance_id) if rest else None
        if action == "DescribeInstanceStatus":
            statuses = [_status(api, i) for i in page]
            return xml_response(action, NAMESPACE, {"instanceStatusSet": statuses, "nextToken": token})
        reservations: dict[str, list[dict[str, Any]]] = {}
        for i in page:
            reservations.setdefault(i.reservation_id or "r-" + i.instance_id[2:], []).append(_instance(api, i, 0))
        listed = [
            {"reservationId": r, "ownerId": "000000000000", "groupSet": [], "instancesSet": items}
            for r, items in reservations.items()
        ]
        return xml_response(action, NAMESPACE, {"reservationSet": listed, "nextToken": token})

    return describe


def _instance_ids(fields: Mapping[str, str]) -> list[str]:
    wanted = flat_list(fields, "InstanceId")
    bad = [i for i in wanted if not INSTANCE_ID.match(i)]
    if bad:
        raise QueryError("InvalidInstanceID.Malformed", f'Invalid id: "{bad[0]}"')
    return wanted


def _known(api: Ec2Api, wanted: list[str]) -> None:
    missing = [i for i in wanted if i not in api.fleet.instances]
    if len(missing) == 1:
        raise QueryError("InvalidInstanceID.NotFound", f"The instance ID '{missing[0]}' does not exist")
    if missing:
        raise QueryError("InvalidInstanceID.NotFound", f"The instance IDs '{', '.join(missing)}' do not exist")


def _token(raw: str | None) -> str | None:
    """The instance id a page ended at, from the NextToken that page gave."""
    if raw is None:
        return None
    try:
        after = base64.urlsafe_b64decode(raw.encode("ascii")).decode("ascii")
    except (UnicodeError, ValueError, binascii.Error):
        after = ""
    if not INSTANCE_ID.match(after):
        raise QueryError("InvalidParameterValue", f"Invalid value '{raw}' for nextToken")
    return after


def _encode_token(instance_id: str) -> str:
    return base64.urlsafe_b64encode(instance_id.encode("ascii")).decode("ascii")


def _matches(api: Ec2Api, instance: Instance, chosen: Mapping[str, list[str]]) -> bool:
    state = api.state(instance)
    have = {
        "instance-id": instance.instance_id,
        "instance-state-name": state,
        "instance-state-code": str(STATE_CODES[state]),
        "reservation-id": instance.reservation_id or "r-" + instance.instance_id[2:],
    }
    return all(have[name] in values for name, values in chosen.items())


def _launch_time(instance: Instance) -> str:
    """When it launched, on the wall clock: the cloud's clock counts seconds of the run."""
    at = time.time() - (runtime.current_time() - instance.launched_at)
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _instance(api: Ec2Api, instance: Instance, index: int) -> dict[str, Any]:
    state = api.state(instance)
    return {
        "instanceId": instance.instance_id,
        "imageId": instance.image_id,
        "instanceState": {"code": STATE_CODES[state], "name": state},
        "amiLaunchIndex": index,
        "instanceType": instance.instance_type,
        "launchTime": _launch_time(instance),
        "placement": {"availabilityZone": ZONE, "hostId": f"d-{instance.droplet:05d}", "tenancy": "default"},
    }


def _status(api: Ec2Api, instance: Instance) -> dict[str, Any]:
    state = api.state(instance)
    check = ("ok", "passed") if state == "running" else ("initializing", "initializing")
    summary = {"status": check[0], "details": [{"name": "reachability", "status": check[1]}]}
    return {
        "instanceId": instance.instance_id,
        "availabilityZone": ZONE,
        "instanceState": {"code": STATE_CODES[state], "name": state},
        "systemStatus": summary,
        "instanceStatus": summary,
    }
