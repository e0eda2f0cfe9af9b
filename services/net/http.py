"""HTTP on a node: the small request and response every endpoint takes and gives, and its table of routes.

A node's endpoints are plain async functions, `HttpRequest -> HttpResponse`. One `Routes` table serves them both
ways, through the same `Routes.handle`:

- live, as an ASGI app (`Routes.asgi`, under Hypercorn), converting at the edge;
- in virtual time, called directly by the VirtualNetwork, so an in-process hop builds no ASGI scope and no httpx
  response: those cost more than the simulated work itself.

The replies are the bytes Starlette would send (its JSON encoding, its 404 and 405, its 500), which is what the
nodes were first served with; tests/services/net/test_http.py holds the live app to it.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from functools import cached_property
from typing import Any

from services.net.json_codec import STARLETTE, loads
from services.net.outside import OutsideCalls, from_outside

DEADLINE_HEADER = "x-deadline"  # when the caller stops waiting, on the run's clock: clients set it, servers read it
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


def parse_deadline(value: str | None) -> float | None:
    """The `x-deadline` header as a simulated time, or None; an unreadable one is ignored, as AWS ignores
    headers it does not know."""
    try:
        deadline = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return deadline if math.isfinite(deadline) else None


class Headers(dict[str, str]):
    """Header names in lower case, looked up whatever their case (as HTTP and httpx's headers do)."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name.lower() if isinstance(name, str) else name)

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


class HttpRequest:
    """What an endpoint reads: header names in lower case, the whole body, the route's path parameters."""

    __slots__ = ("body", "headers", "method", "path", "path_params", "query")

    def __init__(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        query: str = "",
        path_params: Mapping[str, str] | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.query = query
        self.path_params: Mapping[str, str] = path_params or {}


class HttpResponse:
    """What an endpoint answers, and what a client gets back: the status, the headers (names in lower case) and
    the body. `json()` and `text` read the body as httpx's response does."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers if type(headers) is Headers else Headers({k.lower(): v for k, v in headers.items()})
        self.content = content

    def json(self) -> Any:
        return loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class EncodedJson:
    """JSON already encoded as `encode_json` does: an endpoint that keeps parts of its answers encoded (a long
    listing) answers with it instead of the data."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def encode_json(data: Any) -> str:
    """JSON as Starlette's JSONResponse encodes it."""
    return STARLETTE.encode(data).decode()


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> HttpResponse:
    """JSON as Starlette's JSONResponse encodes it."""
    return respond(STARLETTE.encode(data), status, JSON, headers)


def text_response(text: str, status: int = 200) -> HttpResponse:
    return respond(text.encode(), status, TEXT)


def respond(
    body: bytes | str, status: int = 200, media_type: str = JSON, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    content = body.encode() if isinstance(body, str) else body
    all_headers = Headers((k.lower(), v) for k, v in headers.items()) if headers else Headers()
    all_headers["content-length"] = str(len(content))
    all_headers["content-type"] = media_type
    return HttpResponse(status, all_headers, content)


Endpoint = Callable[[HttpRequest], Awaitable[HttpResponse]]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


MATCHED_PATHS = 1024  # paths whose matching routes a node keeps


class Routes:
    """A node's endpoints by method and path; a `{name}` segment of a path is a path parameter."""

    def __init__(self, routes: list[tuple[str, str, Endpoint]]) -> None:
        self._routes = routes
        self.outside = OutsideCalls()  # calls from outside the cloud (net/outside.py), counted at the live edge
        self._exact: dict[str, dict[str, Endpoint]] = {}
        self._patterns: list[tuple[list[str], str, Endpoint]] = []
        self._matched: dict[str, tuple[dict[str, Endpoint] | None, dict[str, str]]] = {}
        for method, path, endpoint in routes:
            if "{" in path:
                self._patterns.append((path.split("/"), method, endpoint))
            else:
                self._exact.setdefault(path, {})[method] = endpoint

    async def handle(self, request: HttpRequest) -> HttpResponse:
        """The endpoint's answer, or Starlette's 404 or 405."""
        methods = self._exact.get(request.path)
        if methods is None:
            methods = self._match(request)
            if methods is None:
                return text_response("Not Found", 404)
        endpoint = methods.get(request.method)
        if endpoint is None:
            reply = text_response("Method Not Allowed", 405)
            reply.headers["allow"] = ", ".join(sorted(methods))
            return reply
        return await endpoint(request)

    def _match(self, request: HttpRequest) -> dict[str, Endpoint] | None:
        """The endpoints by method of the routes whose pattern the path matches (kept per path: a run asks the same
        few paths millions of times), and the path parameters into the request."""
        kept = self._matched.get(request.path)
        if kept is None:
            if len(self._matched) >= MATCHED_PATHS:
                self._matched.clear()
            kept = self._matched[request.path] = self._match_path(request.path)
        found, params = kept
        if found is not None:
            request.path_params = params
        return found

    def _match_path(self, path: str) -> tuple[dict[str, Endpoint] | None, dict[str, str]]:
        parts = path.split("/")
        found: dict[str, Endpoint] = {}
        matched: dict[str, str] = {}
        for pattern, method, endpoint in self._patterns:
            if len(pattern) != len(parts):
                continue
            params = {}
            for want, got in zip(pattern, parts, strict=True):
                if want.startswith("{"):
                    if not got:
                        break
                    params[want[1:-1]] = got
                elif want != got:
                    break
            else:
                matched = params
                found[method] = endpoint
        return found or None, matched

    @cached_property
    def asgi(self) -> ASGIApp:
        """The live app: ASGI straight onto `handle`, so a request over a socket is answered by the same code, in the
        same bytes, as one handed over in-process."""
        return _Asgi(self)


class _Asgi:
    """An ASGI app for a node's routes. What Starlette did here (its request and response objects, its router and
    middleware around an endpoint that converted to our own types) cost a tenth of a live request's CPU and added
    nothing `Routes.handle` does not do: the routing, the 404 and 405 answers, the JSON's bytes. As Starlette's
    ServerErrorMiddleware does, an endpoint that raises gets a 500 and the error goes on to the server's log.
    Where it differs from Starlette's routing it does as virtual time always did: no HEAD for a GET route, no
    redirect of a trailing slash, and a path with its own routes is not also matched against a `{parameter}`."""

    def __init__(self, routes: Routes) -> None:
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            raise ValueError(f"{kind!r} connections are not served here")
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope["query_string"].decode("latin-1")
        request = HttpRequest(scope["method"], scope["path"], headers, b"".join(chunks), query)
        try:
            reply = await self.routes.handle(request)
        except Exception:
            await self._answer(send, headers, text_response("Internal Server Error", 500))
            raise
        await self._answer(send, headers, reply)

    async def _answer(self, send: Send, asked: Mapping[str, str], reply: HttpResponse) -> None:
        close = False
        if from_outside(asked):
            self.routes.outside.note(reply.status_code, reply.headers, reply.content)
            close = self.routes.outside.close_connections
        # The reply's own headers are left alone (an endpoint may answer the same object again); those that belong
        # to one connection, or that Hypercorn writes itself, are not passed on from a reply relayed from upstream.
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items() if k not in _OWN]
        headers.append((b"content-length", str(len(reply.content)).encode()))
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": reply.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": reply.content})


_OWN = frozenset(("content-length", "connection", "keep-alive", "transfer-encoding", "date", "server"))


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
