"""A service of the user's, declared in a scenario (scenarios/config/declared_services.py checks the declaration): its
operations call other services in order, each call through the cloud's own client core (names through the shared
resolver, the policy set's client policy, deadlines), optionally kept in a cache for a TTL, and, when a call
fails, the operation either fails or serves the cache's last answer.

    POST /<Operation>   run the operation; 200 {"operation": ..., "calls": N, "from_cache": K}
    GET  /health        {"status": "ok"}

Errors answer in the JSON shape the cloud's other services use, with `x-amzn-ErrorType`, so the SDKs and the
cloud's clients class them alike: 429 ThrottlingException when the node's queue is full (or the deadline passed in
it), 503 ServiceUnavailableException when a call failed and nothing could stand in for it, 400
UnknownOperationException for an operation the service does not have.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass

from services import runtime
from services.client.service_client import ServiceClient
from services.dynamodb.calls import call as dynamodb_call
from services.dynamodb.calls import until_done
from services.errors import CallFailed, CascadesimError
from services.lambda_.service import FUNCTION
from services.net.http import (
    DEADLINE_HEADER,
    Endpoint,
    HttpRequest,
    HttpResponse,
    Routes,
    json_response,
    parse_deadline,
)
from services.net.query import QueryError, is_query, parse_form
from services.node.capacity import CapacityModel, CapacitySpec, DeadlineExceeded, Overloaded, Shed
from services.topology.nlb import NlbSettings
from services.topology.sts import StsSessions

INVOKE_PATH = f"/2015-03-31/functions/{FUNCTION}/invocations"


@dataclass(frozen=True)
class CallSettings:
    service: str  # "dynamodb", "ec2", "lambda", or a declared service's name
    operation: str
    table: str | None = None
    cache_ttl: float = 0.0
    serve_from_cache: bool = False


@dataclass(frozen=True)
class DeclaredSettings:
    name: str
    port: int
    capacity: CapacitySpec
    operations: Mapping[str, tuple[CallSettings, ...]]
    nlb: NlbSettings | None = None  # behind a Network Load Balancer, on EC2 instances (services/topology/nlb.py)
    protocol: str = "json"  # "sts": also AWS STS's query protocol at POST / (services/topology/sts.py)
    session_scale: float = 1.0  # an STS session lasts DurationSeconds / session_scale


class DependencyFailed(CascadesimError):
    """A call of an operation got no successful answer, and no cached one could stand in."""


class DeclaredService:
    """The node's endpoints: each operation's calls, under the node's capacity model."""

    def __init__(self, settings: DeclaredSettings, clients: Mapping[str, ServiceClient], rng: random.Random) -> None:
        self.settings = settings
        self.name = settings.name
        self.clients = clients  # by the service each call names
        self.capacity = CapacityModel(settings.capacity, rng)
        self._cache: dict[tuple[str, int], tuple[float, bytes]] = {}  # (operation, call) -> (kept until, answer)
        self._hosts: dict[tuple[str, int], str] = {}  # (operation, call) -> the instance its last launch gave
        self._retired: list[str] = []  # replaced hosts not yet terminated (EC2 failed to; asked again next time)
        self.answers: dict[str, list[int]] = {op: [0, 0] for op in settings.operations}  # op -> [ok, failed]
        routes: list[tuple[str, str, Endpoint]] = [
            ("POST", "/{operation}", self._operation),
            ("GET", "/health", self._health),
        ]
        self.sts = StsSessions(settings.name, settings.session_scale) if settings.protocol == "sts" else None
        if self.sts is not None:
            routes.append(("POST", "/", self._query))
        self.routes = Routes(routes)

    async def set_up(self) -> None:
        """Create the DynamoDB tables the operations use (a table that already exists counts)."""
        tables = sorted({c.table for calls in self.settings.operations.values() for c in calls if c.table is not None})
        for table in tables:
            body = {
                "TableName": table,
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            }
            await until_done(self.clients["dynamodb"], "CreateTable", body)

    async def _health(self, request: HttpRequest) -> HttpResponse:
        return json_response({"status": "ok", "node": self.name})

    async def _operation(self, request: HttpRequest) -> HttpResponse:
        name = request.path_params["operation"]
        calls = self.settings.operations.get(name)
        if calls is None:
            return _error("UnknownOperationException", f"{self.name} has no operation {name}", 400)
        failed = await self._serve(name, calls, parse_deadline(request.headers.get(DEADLINE_HEADER)))
        if isinstance(failed, int):
            return json_response({"operation": name, "calls": len(calls), "from_cache": failed})
        if failed[0] == "throttled":
            return _error("ThrottlingException", "Rate exceeded", 429)
        return _error("ServiceUnavailableException", failed[1], 503)

    async def _query(self, request: HttpRequest) -> HttpResponse:
        """STS's query protocol (services/topology/sts.py): the declared operation's work, answered as STS does."""
        sts = self.sts
        assert sts is not None
        try:
            if not is_query(request):
                raise QueryError("MissingAction", "Missing Action")
            fields = parse_form(request.body)
            action = sts.check(fields)
        except QueryError as exc:
            return sts.error(exc.code, exc.message, exc.status)
        name = action if action in self.settings.operations else "AssumeRole"
        failed = await self._serve(
            name, self.settings.operations[name], parse_deadline(request.headers.get(DEADLINE_HEADER))
        )
        if isinstance(failed, int):
            return sts.answer(action, fields, request.headers.get("x-amz-security-token"))
        if failed[0] == "throttled":
            return sts.error("Throttling", "Rate exceeded", 400)
        return sts.error("ServiceUnavailable", failed[1], 503)

    async def _serve(self, name: str, calls: tuple[CallSettings, ...], deadline: float | None) -> int | tuple[str, str]:
        """Run the operation under the node's capacity model: how many of its calls the cache answered when it
        succeeded, else ("throttled" or "failed", why)."""
        answers = self.answers[name]
        try:
            from_cache = await self.capacity.serve(deadline, lambda: self._run(name, calls, deadline))
        except (Overloaded, Shed, DeadlineExceeded):
            answers[1] += 1
            return "throttled", "Rate exceeded"
        except DependencyFailed as exc:
            answers[1] += 1
            return "failed", str(exc)
        answers[0] += 1
        return from_cache

    async def _run(self, name: str, calls: tuple[CallSettings, ...], deadline: float | None) -> int:
        """Make the operation's calls in order; returns how many were answered from the cache."""
        from_cache = 0
        for index, call in enumerate(calls):
            key = (name, index)
            kept = self._cache.get(key)
            now = runtime.current_time()
            if kept is not None and kept[0] > now:
                from_cache += 1
                continue
            answer = await self._call(call, deadline, key)
            if answer is not None:
                if call.cache_ttl > 0:
                    self._cache[key] = (runtime.current_time() + call.cache_ttl, answer)
                continue
            if call.serve_from_cache and kept is not None:  # stale, but better than nothing
                from_cache += 1
                continue
            raise DependencyFailed(f"{name}: {call.service} {call.operation} failed")
        return from_cache

    async def _call(self, call: CallSettings, deadline: float | None, key: tuple[str, int]) -> bytes | None:
        """The call's answer when it succeeded, else None. A RunInstances that launched an instance replaces the
        one the same call launched last time (a host replacement: it is terminated), so that a service's hosts do
        not fill EC2 up over a long run."""
        client = self.clients[call.service]
        try:
            if call.service == "dynamodb":
                response = await dynamodb_call(client, call.operation, _dynamodb_body(call), deadline)
            elif call.service == "lambda":
                response = await client.request("POST", INVOKE_PATH, content=b"{}", deadline=deadline)
            elif call.service == "ec2":
                body = json.dumps({"Action": call.operation, "MinCount": 1}).encode()
                response = await client.request("POST", "/", content=body, deadline=deadline)
            else:
                response = await client.request("POST", f"/{call.operation}", content=b"{}", deadline=deadline)
        except CallFailed:
            return None
        if response.status_code >= 400:
            return None
        if call.service == "ec2" and call.operation == "RunInstances":
            await self._replace_host(key, response.content, deadline)
        return response.content

    async def _replace_host(self, key: tuple[str, int], answer: bytes, deadline: float | None) -> None:
        """The launched instance replaces the previous one of the same call, which is terminated (with any that
        EC2 failed to terminate before; an instance EC2 no longer knows counts as terminated)."""
        try:
            instance = str(json.loads(answer)["Instances"][0]["InstanceId"])
        except (ValueError, LookupError, TypeError):
            return
        retired = self._hosts.get(key)
        self._hosts[key] = instance
        if retired is not None:
            self._retired.append(retired)
        pending, self._retired = self._retired, []  # this call's to terminate; concurrent calls take none of them
        for k, old in enumerate(pending):
            body = json.dumps({"Action": "TerminateInstances", "InstanceIds": [old]}).encode()
            try:
                reply = await self.clients["ec2"].request("POST", "/", content=body, deadline=deadline)
            except CallFailed:
                self._retired += pending[k:]  # EC2 unreachable: asked again after the next launch
                return
            if reply.status_code >= 400 and b"InvalidInstanceID.NotFound" not in reply.content:
                self._retired.append(old)


def _dynamodb_body(call: CallSettings) -> dict[str, object]:
    key = {"id": {"S": "item-1"}}
    if call.operation == "PutItem":
        return {"TableName": call.table, "Item": {**key, "at": {"S": "now"}}}
    if call.operation == "Query":
        return {
            "TableName": call.table,
            "KeyConditionExpression": "id = :id",
            "ExpressionAttributeValues": {":id": {"S": "item-1"}},
        }
    return {"TableName": call.table, "Key": key}


def _error(code: str, message: str, status: int) -> HttpResponse:
    reply = json_response({"__type": code, "message": message}, status)
    reply.headers["x-amzn-errortype"] = code
    return reply
