"""A node's live ASGI app answers in Starlette's bytes, the way the nodes were first served (and as in virtual time)."""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.net.http import HttpRequest, HttpResponse, Routes, json_response

CASES = [
    ("POST", "/items", b'{"n": 1}'),  # JSON in, JSON out
    ("GET", "/items/k-7", b""),  # a path parameter
    ("GET", "/nowhere", b""),  # 404
    ("DELETE", "/items", b""),  # 405, with the methods allowed
    ("POST", "/fail", b""),  # the endpoint raises: 500
]


async def ours_put(request: HttpRequest) -> HttpResponse:
    return json_response({"got": json.loads(request.body), "agent": request.headers.get("user-agent")}, 201)


async def ours_get(request: HttpRequest) -> HttpResponse:
    return json_response({"key": request.path_params["key"], "ü": "ß"}, headers={"X-Node": "router-1"})


async def ours_fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in an endpoint")


async def theirs_put(request: Request) -> Response:
    got = json.loads(await request.body())
    return JSONResponse({"got": got, "agent": request.headers.get("user-agent")}, 201)


async def theirs_get(request: Request) -> Response:
    return JSONResponse({"key": request.path_params["key"], "ü": "ß"}, headers={"X-Node": "router-1"})


async def theirs_fail(request: Request) -> Response:
    raise RuntimeError("a bug in an endpoint")


OURS = Routes([("POST", "/items", ours_put), ("GET", "/items/{key}", ours_get), ("POST", "/fail", ours_fail)])
THEIRS = Starlette(
    routes=[
        Route("/items", theirs_put, methods=["POST"]),
        Route("/items/{key}", theirs_get, methods=["GET"]),
        Route("/fail", theirs_fail, methods=["POST"]),
    ]
)


async def _ask(app: object, method: str, path: str, body: bytes) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.1.1:8000") as client:
        return await client.request(method, path, content=body, headers={"user-agent": "cascadesim"})


@pytest.mark.parametrize(("method", "path", "body"), CASES)
async def test_the_live_app_answers_as_starlette_does(method: str, path: str, body: bytes) -> None:
    """Status, headers and body are Starlette's, byte for byte, whatever the request meets."""
    ours = await _ask(OURS.asgi, method, path, body)
    theirs = await _ask(THEIRS, method, path, body)
    assert (ours.status_code, ours.content) == (theirs.status_code, theirs.content)
    assert sorted(ours.headers.multi_items()) == sorted(theirs.headers.multi_items())


async def test_an_outside_call_is_counted_and_asked_to_close() -> None:
    """A caller that is not the cloud's own is counted by outcome, and told to close while a program runs."""
    routes = Routes([("POST", "/items", ours_put)])
    routes.outside.close_connections = True
    transport = httpx.ASGITransport(app=routes.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.1.1:8000") as client:
        mine = await client.post("/items", content=b"1", headers={"user-agent": "cascadesim"})
        outside = await client.post("/items", content=b"2", headers={"user-agent": "boto3/1.35"})
        missing = await client.get("/nowhere", headers={"user-agent": "curl/8"})
    assert "connection" not in mine.headers
    assert outside.headers["connection"] == "close"
    assert missing.status_code == 404
    assert routes.outside.totals == {"ok": 1, "throttled": 0, "server_error": 0, "client_error": 1}


async def test_an_endpoint_that_raises_answers_500_and_the_error_reaches_the_server() -> None:
    """As Starlette's ServerErrorMiddleware: the caller gets a 500, and the server (its log) gets the error."""
    transport = httpx.ASGITransport(app=OURS.asgi)  # raise_app_exceptions: what reaches the server is raised here
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.1.1:8000") as client:
        with pytest.raises(RuntimeError, match="a bug in an endpoint"):
            await client.post("/fail")


async def test_a_relayed_reply_keeps_its_own_headers_but_not_its_connections() -> None:
    """A reply relayed from upstream (an NLB's) is sent with its own headers, its length counted again, and without
    the upstream's connection, date and server headers, which are the server's own to write."""
    upstream = {"content-length": "9", "connection": "close", "date": "then", "server": "up", "x-amzn-requestid": "r1"}

    async def relay(request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, {**upstream, "content-type": "application/json"}, b"{}")

    transport = httpx.ASGITransport(app=Routes([("POST", "/", relay)]).asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.1.1:8000") as client:
        reply = await client.post("/", headers={"user-agent": "cascadesim"})
    assert dict(reply.headers) == {"x-amzn-requestid": "r1", "content-type": "application/json", "content-length": "2"}
