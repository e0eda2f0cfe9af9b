"""A DynamoDB request router: one of the "load balancers" the DNS Planner puts in its plans.

It speaks the DynamoDB_20120810 JSON protocol (POST / with `X-Amz-Target`, `application/x-amz-json-1.0`, errors as
`{"__type", "message"}`), accepts any signature, and runs every request through its own capacity model before
touching the storage it shares with the other routers. It also answers `GET /health` for the Planner and
`GET /metrics` in the Prometheus text format.

A bug of ours inside a request (any exception but DynamoDB's own errors) is answered as DynamoDB answers it, 500
InternalServerError, and reported to the event log (services/node/internal_errors.py).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from services import runtime
from services.dynamodb import items, reads
from services.dynamodb.errors import (
    DynamoError,
    InternalServerError,
    SerializationException,
    ServiceUnavailable,
    ThrottlingException,
    UnknownOperationException,
    ValidationException,
)
from services.dynamodb.tables import Storage
from services.events import EventLog
from services.net.http import (
    DEADLINE_HEADER,
    HttpRequest,
    HttpResponse,
    Routes,
    json_response,
    parse_deadline,
    respond,
    text_response,
)
from services.net.json_codec import DYNAMODB, loads
from services.node.capacity import CapacityModel, CapacitySpec, DeadlineExceeded, Overloaded, Shed
from services.node.internal_errors import InternalErrors
from services.node.metrics import CONTENT_TYPE, prometheus_text
from services.throttling.admission import Admission
from services.throttling.disciplines import Discipline

TARGET_PREFIX = "DynamoDB_20120810"
JSON_TYPES = ("application/x-amz-json-1.0", "application/x-amz-json-1.1", "application/json")
MAX_REQUEST_BYTES = 16 * 1024 * 1024

Operation = Callable[[Storage, dict[str, Any]], dict[str, Any]]


def _operations() -> dict[str, Callable[[Storage, dict[str, Any], float], dict[str, Any]]]:
    def plain(fn: Operation) -> Callable[[Storage, dict[str, Any], float], dict[str, Any]]:
        return lambda storage, request, now: fn(storage, request)

    return {
        "CreateTable": lambda storage, request, now: storage.create_table(request, now),
        "DescribeTable": plain(Storage.describe_table),
        "ListTables": plain(Storage.list_tables),
        "DeleteTable": plain(Storage.delete_table),
        "PutItem": plain(items.put_item),
        "GetItem": plain(items.get_item),
        "UpdateItem": plain(items.update_item),
        "DeleteItem": plain(items.delete_item),
        "BatchGetItem": plain(items.batch_get_item),
        "BatchWriteItem": plain(items.batch_write_item),
        "Query": plain(reads.query),
        "Scan": plain(reads.scan),
    }


OPERATIONS = _operations()


class Router:
    """A router node; `healthy` is what its health check reports (faults may flip it).

    `events` is the run's event log; without one, the router keeps a log of its own (on the current clock).
    """

    def __init__(
        self,
        name: str,
        storage: Storage | None = None,
        spec: CapacitySpec | None = None,
        rng: random.Random | None = None,
        weight: int = 1,
        *,
        admission: Admission | None = None,
        discipline: Discipline[Any] | None = None,
        events: EventLog | None = None,
    ) -> None:
        self.name = name
        self.weight = weight
        self.healthy = True
        self.storage = storage if storage is not None else Storage()
        self._rng = rng or random.Random(name)
        self.capacity = CapacityModel(spec or CapacitySpec(), self._rng, admission=admission, discipline=discipline)
        self.events = events if events is not None else EventLog(runtime.current_time, start=0.0)
        self.internal_errors = InternalErrors(name, self.events)
        self.routes = Routes(
            [
                ("POST", "/", self._api),
                ("GET", "/", self._root),
                ("GET", "/health", self._health),
                ("GET", "/metrics", self._metrics),
            ]
        )

    def set_healthy(self, healthy: bool) -> None:
        """What the health check reports from now on (the router_down fault turns it off for a while)."""
        self.healthy = healthy

    async def _health(self, request: HttpRequest) -> HttpResponse:
        if not self.healthy:
            return json_response({"status": "unhealthy", "router": self.name}, 503)
        return json_response({"status": "ok", "router": self.name, "weight": self.weight})

    async def _root(self, request: HttpRequest) -> HttpResponse:
        return text_response("healthy: dynamodb.us-east-1.cloud.test ")

    async def _metrics(self, request: HttpRequest) -> HttpResponse:
        return respond(prometheus_text(self.name, self.capacity), 200, CONTENT_TYPE)

    async def _api(self, request: HttpRequest) -> HttpResponse:
        try:
            operation, body = await self._parse(request)
            now = runtime.current_time()
            result = await self.capacity.serve(
                parse_deadline(request.headers.get(DEADLINE_HEADER)), lambda: _run(operation, self.storage, body, now)
            )
        except (Overloaded, Shed):
            return self._error(ThrottlingException("Rate of requests exceeds the allowed throughput."))
        except DeadlineExceeded:
            return self._error(ServiceUnavailable("The request deadline passed before it could be served."))
        except DynamoError as exc:
            return self._error(exc)
        except Exception as exc:  # a bug of ours: answer as DynamoDB would, and report it
            self.internal_errors.record(exc, request.headers.get("x-amz-target", ""), "InternalServerError")
            return self._error(InternalServerError("Internal server error"))
        return self._respond(200, result)

    async def _parse(self, request: HttpRequest) -> tuple[Operation | Any, dict[str, Any]]:
        prefix, _, name = request.headers.get("x-amz-target", "").partition(".")
        operation = OPERATIONS.get(name) if prefix == TARGET_PREFIX else None
        if operation is None:
            raise UnknownOperationException()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in JSON_TYPES:
            raise SerializationException(f"Unsupported Content-Type: {content_type or '(none)'}")
        raw = request.body
        if len(raw) > MAX_REQUEST_BYTES:
            raise ValidationException("Request size exceeded 16777216 bytes")
        try:
            body = loads(raw.decode() if raw else "{}")
        except (ValueError, UnicodeDecodeError):
            raise SerializationException("Could not parse the request body as JSON") from None
        if not isinstance(body, dict):
            raise SerializationException("Start of list found where not expected")
        return operation, body

    def _error(self, error: DynamoError) -> HttpResponse:
        return self._respond(error.status, error.body())

    def _respond(self, status: int, body: dict[str, Any]) -> HttpResponse:
        headers = {"x-amzn-RequestId": request_id(self._rng)}
        return respond(DYNAMODB.encode(body), status, "application/x-amz-json-1.0", headers)


def request_id(rng: random.Random) -> str:
    """A random version-4 UUID, as str(uuid.UUID(int=rng.getrandbits(128), version=4)) writes it, at a third of
    its cost (one per reply)."""
    bits = rng.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48) | (0x4000 << 64) | (0x8000 << 48)
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


async def _run(operation: Any, storage: Storage, body: dict[str, Any], now: float) -> dict[str, Any]:
    result: dict[str, Any] = operation(storage, body, now)
    return result
