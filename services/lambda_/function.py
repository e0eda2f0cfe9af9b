"""Lambda-like Invoke: function configuration from DynamoDB (cached with a TTL), run on a pool of sandboxes.

`POST /2015-03-31/functions/{name}/invocations` (Lambda's REST path) reads the function's configuration from the
`lambda-functions` table through the internal client, keeps it for `config_ttl` seconds, and runs the invocation
in a sandbox (the node's capacity model: one worker per sandbox, service time = the function's duration). When the
sandboxes are all busy the service asks EC2 for another instance (RunInstances) to scale out; without EC2
capacity the invocation is throttled. Errors as Lambda names them: `TooManyRequestsException` (429),
`ServiceException` (500), `ResourceNotFoundException` (404).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from services import runtime
from services.client.service_client import ServiceClient
from services.dynamodb.calls import call, until_done
from services.errors import CallFailed, CascadesimError
from services.events import EventLog
from services.net.http import HttpRequest, HttpResponse, Routes, json_response, respond
from services.net.json_codec import loads
from services.node.capacity import CapacityModel, CapacitySpec, DeadlineExceeded, Overloaded, ServiceTime, Shed
from services.node.internal_errors import InternalErrors
from services.node.metrics import CONTENT_TYPE, prometheus_text

TABLE = "lambda-functions"


STATUS = {"TooManyRequestsException": 429, "ServiceException": 500, "ResourceNotFoundException": 404}


class LambdaError(CascadesimError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    @property
    def status(self) -> int:
        return STATUS.get(self.code, 400)


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    duration: float


@dataclass(frozen=True)
class LambdaSettings:
    sandboxes: int = 8  # warm at the start
    max_sandboxes: int = 64
    sandboxes_per_instance: int = 8
    config_ttl: float = 30.0
    queue_limit: int = 32


def _error(exc: LambdaError) -> HttpResponse:
    return json_response(
        {"Type": "Service" if exc.status >= 500 else "User", "Message": exc.message},
        exc.status,
        headers={"x-amzn-ErrorType": exc.code},
    )


class LambdaService:
    def __init__(
        self,
        settings: LambdaSettings,
        dynamodb: ServiceClient,
        ec2: ServiceClient,
        rng: random.Random,
        events: EventLog | None = None,
    ) -> None:
        self.settings = settings
        log = events if events is not None else EventLog(runtime.current_time, 0.0)
        self.internal_errors = InternalErrors("lambda", log)
        self.dynamodb = dynamodb
        self.ec2 = ec2
        self._cache: dict[str, tuple[float, FunctionConfig]] = {}
        spec = CapacitySpec(
            workers=settings.sandboxes, service_time=ServiceTime("constant", 0.0), queue_limit=settings.queue_limit
        )
        self.capacity = CapacityModel(spec, rng)
        self._scaling = False
        self.scale_outs = 0
        self.routes = Routes(
            [
                ("POST", "/2015-03-31/functions/{name}/invocations", self._invoke_route),
                ("GET", "/health", self._health),
                ("GET", "/metrics", self._metrics),
            ]
        )

    async def _health(self, request: HttpRequest) -> HttpResponse:
        return json_response({"status": "ok"})

    async def _metrics(self, request: HttpRequest) -> HttpResponse:
        return respond(prometheus_text("lambda-1", self.capacity), 200, CONTENT_TYPE)

    async def _invoke_route(self, request: HttpRequest) -> HttpResponse:
        try:
            payload = loads(request.body or b"{}")
        except ValueError:  # not a bug of ours: the caller's body
            return json_response({"Type": "User", "Message": "Could not parse request body into json"}, 400)
        try:
            result = await self.invoke(request.path_params["name"], payload)
        except LambdaError as exc:
            return _error(exc)
        except Exception as exc:  # a bug of ours: answer as Lambda does, and report it
            self.internal_errors.record(exc, request.path, "ServiceException")
            return _error(LambdaError("ServiceException", "An internal error has occurred"))
        return json_response(result)

    async def invoke(self, name: str, payload: Any) -> dict[str, Any]:
        config = await self.config(name)
        if self.capacity.in_flight >= self.capacity.spec.workers:
            self._scale_out()
        try:
            await self.capacity.serve(None, lambda: self._run(config))
        except (Overloaded, Shed, DeadlineExceeded):
            raise LambdaError("TooManyRequestsException", "Rate Exceeded.") from None
        return {"StatusCode": 200, "FunctionName": name, "Payload": payload}

    async def _run(self, config: FunctionConfig) -> None:
        await runtime.sleep(config.duration)

    async def config(self, name: str) -> FunctionConfig:
        now = runtime.current_time()
        cached = self._cache.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            response = await call(self.dynamodb, "GetItem", {"TableName": TABLE, "Key": {"name": {"S": name}}})
        except CallFailed as exc:
            raise LambdaError("ServiceException", f"cannot read the function configuration: {exc}") from None
        if response.status_code != 200:
            raise LambdaError("ServiceException", f"cannot read the function configuration: {response.status_code}")
        item = response.json().get("Item")
        if item is None:
            raise LambdaError("ResourceNotFoundException", f"Function not found: {name}")
        config = FunctionConfig(name, float(item["duration"]["N"]))
        self._cache[name] = (now + self.settings.config_ttl, config)
        return config

    async def register(self, name: str, duration: float) -> None:
        """Create the functions table if needed and put a function's configuration in it."""
        for operation, body in (
            (
                "CreateTable",
                {
                    "TableName": TABLE,
                    "BillingMode": "PAY_PER_REQUEST",
                    "KeySchema": [{"AttributeName": "name", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "name", "AttributeType": "S"}],
                },
            ),
            ("PutItem", {"TableName": TABLE, "Item": {"name": {"S": name}, "duration": {"N": str(duration)}}}),
        ):
            await until_done(self.dynamodb, operation, body)

    def _scale_out(self) -> None:
        """Ask EC2 for one more instance of sandboxes, one request at a time."""
        if self._scaling or self.capacity.spec.workers >= self.settings.max_sandboxes:
            return
        self._scaling = True

        async def grow() -> None:
            try:
                response = await self.ec2.request(
                    "POST",
                    "/",
                    content=json.dumps({"Action": "RunInstances", "MinCount": 1}).encode(),
                    deadline=runtime.current_time() + 5.0,
                )
                if response.status_code == 200:
                    self.capacity.resize(self.capacity.spec.workers + self.settings.sandboxes_per_instance)
                    self.scale_outs += 1
            except CallFailed:
                pass
            finally:
                self._scaling = False

        if self._group is not None:
            self._group.start_soon(grow)

    _group: runtime.TaskGroup | None = None

    def attach(self, group: runtime.TaskGroup) -> None:
        """The task group that scale-out requests run in (they outlive the invocation that started them)."""
        self._group = group
