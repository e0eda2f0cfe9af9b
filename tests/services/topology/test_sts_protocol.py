"""A declared service with `protocol = "sts"` answers AWS STS's query protocol, held to botocore's own serializer
and parser: AssumeRole runs the declared operation's calls (credentials in DynamoDB) and fails when they fail."""

from __future__ import annotations

import random
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import botocore.session
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from services.net.http import HttpRequest
from services.net.protocol import error_code
from services.node.capacity import CapacitySpec, ServiceTime
from services.topology.declared import CallSettings, DeclaredService, DeclaredSettings

MODEL = botocore.session.get_session().get_service_model("sts")
FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}


class Store:
    """Stands for the DynamoDB client: answers GetItem, or fails as an unreachable DynamoDB does."""

    def __init__(self) -> None:
        self.up = True
        self.calls = 0


def sts(store: Store, session_scale: float = 1.0) -> DeclaredService:
    settings = DeclaredSettings(
        name="sts",
        port=8000,
        capacity=CapacitySpec(workers=2, queue_limit=4, service_time=ServiceTime("constant", 0.0)),
        operations={"AssumeRole": (CallSettings("dynamodb", "GetItem", "sts-credentials"),)},
        protocol="sts",
        session_scale=session_scale,
    )
    service = DeclaredService(settings, {}, random.Random(1))

    async def dynamodb(call: CallSettings, deadline: float | None, key: tuple[str, int]) -> bytes | None:
        store.calls += 1
        return b'{"Item": {}}' if store.up else None  # None: the call failed (DNS empty, say)

    service._call = dynamodb  # type: ignore[method-assign]
    return service


async def call(service: DeclaredService, operation: str, headers: Any = FORM, **params: Any) -> dict[str, Any]:
    op = MODEL.operation_model(operation)
    request = create_serializer("query").serialize_to_request(params, op)
    return await raw(service, urlencode(request["body"]).encode(), op.output_shape, headers)


async def raw(service: DeclaredService, body: bytes, shape: Any = None, headers: Any = FORM) -> dict[str, Any]:
    reply = await service.routes.handle(HttpRequest("POST", "/", headers, body))
    parsed: dict[str, Any] = create_parser("query").parse(
        {"status_code": reply.status_code, "headers": dict(reply.headers), "body": reply.content}, shape
    )
    parsed["status"] = reply.status_code
    parsed["code"] = error_code(reply.status_code, reply.headers, reply.content)
    return parsed


ROLE = "arn:aws:iam::123456789012:role/orders-app"


async def test_assume_role_and_get_caller_identity_as_boto3_reads_them() -> None:
    store = Store()
    service = sts(store, session_scale=100.0)
    before = time.time()
    got = await call(service, "AssumeRole", RoleArn=ROLE, RoleSessionName="s-1", DurationSeconds=3600)
    assert got["status"] == 200 and store.calls == 1
    creds = got["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["SecretAccessKey"]) == 40 and creds["SessionToken"]
    assert isinstance(creds["Expiration"], datetime) and creds["Expiration"].tzinfo is not None
    assert 30 <= creds["Expiration"].timestamp() - before <= 40  # 3,600 s played 100 times faster
    assert got["AssumedRoleUser"]["Arn"] == "arn:aws:sts::123456789012:assumed-role/orders-app/s-1"
    assert got["ResponseMetadata"]["RequestId"]

    signed = {**FORM, "x-amz-security-token": creds["SessionToken"]}
    me = await call(sts(store), "GetCallerIdentity", headers=signed)  # another node of the service knows it too
    assert (me["Account"], me["Arn"]) == ("123456789012", got["AssumedRoleUser"]["Arn"])
    assert me["UserId"] == got["AssumedRoleUser"]["AssumedRoleId"]
    anonymous = await call(service, "GetCallerIdentity")
    assert anonymous["Arn"] == "arn:aws:iam::000000000000:user/cascadesim"
    assert store.calls == 3  # GetCallerIdentity looks the session up where AssumeRole keeps it


async def test_assume_role_fails_as_sts_answers_when_its_store_is_unreachable() -> None:
    store = Store()
    service = sts(store)
    store.up = False
    failed = await call(service, "AssumeRole", RoleArn=ROLE, RoleSessionName="s-1")
    assert (failed["status"], failed["Error"]["Code"], failed["Error"]["Type"]) == (
        503,
        "ServiceUnavailable",
        "Receiver",
    )
    assert failed["code"] == "ServiceUnavailable"
    assert service.answers["AssumeRole"] == [0, 1]
    store.up = True
    assert (await call(service, "AssumeRole", RoleArn=ROLE, RoleSessionName="s-1"))["status"] == 200


async def test_requests_sts_refuses() -> None:
    service = sts(Store())
    cases = [
        (b"Version=2011-06-15", "MissingAction"),
        (b"Action=AssumeRoles&Version=2011-06-15", "InvalidAction"),
        (b"Action=GetCallerIdentity&Version=2010-01-01", "NoSuchVersion"),
        (b"Action=GetCallerIdentity&Version=2011-06-15&Color=red", "InvalidParameterValue"),
        (b"Action=GetCallerIdentity&Version=2011-06-15&x=%ff", "MalformedQueryString"),
        (
            urlencode({"Action": "AssumeRole", "Version": "2011-06-15", "RoleSessionName": "s"}).encode(),
            "ValidationError",
        ),
        (
            urlencode(
                {
                    "Action": "AssumeRole",
                    "Version": "2011-06-15",
                    "RoleArn": "arn:aws:iam::1:role/x",
                    "RoleSessionName": "ss",
                }
            ).encode(),
            "ValidationError",
        ),
        (
            urlencode(
                {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": ROLE, "RoleSessionName": "a b"}
            ).encode(),
            "ValidationError",
        ),
        (
            urlencode(
                {
                    "Action": "AssumeRole",
                    "Version": "2011-06-15",
                    "RoleArn": ROLE,
                    "RoleSessionName": "ss",
                    "DurationSeconds": "60",
                }
            ).encode(),
            "ValidationError",
        ),
    ]
    for body, code in cases:
        answer = await raw(service, body)
        assert (answer["status"], answer["Error"]["Code"], answer["Error"]["Type"]) == (400, code, "Sender"), body
    json_call = await service.routes.handle(HttpRequest("POST", "/AssumeRole", {}, b"{}"))
    assert json_call.status_code == 200  # the cloud's own users keep the JSON form


async def test_generated_malformed_requests_each_get_stss_xml_error_and_the_node_stays_up() -> None:
    """500 generated bad requests (no Action, unknown Action or Version, bad encodings, unknown or bad parameters):
    each a 400 with STS's error in its XML shape, nothing raised in the node, and AssumeRole works after."""
    rng = random.Random(2026)
    service = sts(Store())
    good = {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": ROLE, "RoleSessionName": "ok-1"}
    for n in range(500):
        junk = "".join(rng.choice("abcXYZ09._-é%&= \x00/:") for _ in range(rng.randrange(1, 12)))
        kind = rng.randrange(7)
        body: bytes
        if kind == 0:
            body, codes = urlencode({k: v for k, v in good.items() if k != "Action"}).encode(), {"MissingAction"}
        elif kind == 1:
            body, codes = urlencode({**good, "Action": junk}).encode(), {"InvalidAction", "MissingAction"}
        elif kind == 2:
            body, codes = urlencode({**good, "Version": junk}).encode(), {"NoSuchVersion"}
        elif kind == 3:
            body, codes = (
                b"Action=AssumeRole&Version=2011-06-15&RoleArn=" + rng.choice([b"%ff", b"\xc3("]),
                {"MalformedQueryString"},
            )
        elif kind == 4:
            body, codes = (
                urlencode({**good, f"X{junk}": "1"}).encode(),
                {"InvalidParameterValue", "MalformedQueryString"},
            )
        elif kind == 5:
            field, bad = rng.choice(
                [("RoleArn", junk), ("RoleSessionName", junk + " "), ("DurationSeconds", "x" + junk)]
            )
            body, codes = urlencode({**good, field: bad}).encode(), {"ValidationError", "InvalidParameterValue"}
        else:
            left_out = rng.choice(["RoleArn", "RoleSessionName"])
            body = urlencode({k: v for k, v in good.items() if k != left_out}).encode()
            codes = {"ValidationError"}
        answer = await raw(service, body)
        assert answer["status"] == 400, (n, body, answer)
        assert answer["Error"]["Code"] in codes and answer["Error"]["Type"] == "Sender", (n, body, answer["Error"])
        assert answer["ResponseMetadata"]["RequestId"]
    assert (await call(service, "AssumeRole", RoleArn=ROLE, RoleSessionName="after"))["status"] == 200
