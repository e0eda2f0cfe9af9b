"""HTTP on a node: the small request and response every endpoint takes and gives, and its table of routes.

A node's endpoints are plain async functions, `HttpRequest -> HttpResponse`. One `Routes` table serves them both
ways:

- live, as an ASGI app (`Routes.asgi`: Starlette, under Hypercorn), converting at the edge;
- in virtual time, called directly by the VirtualNetwork (`Routes.handle`), so an in-process hop builds no ASGI
  scope, no Starlette request and no httpx response: those cost more than the simulated work itself.

The replies are the bytes Starlette would send (its JSON encoding, its 404 and 405), so both ways answer alike.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.outside import OutsideCalls, from_outside

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
# Starlette's JSONResponse encoding, built once (json.dumps with arguments builds an encoder per call).
_STARLETTE_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


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
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class EncodedJson(str):
    """JSON already encoded as `encode_json` does: an endpoint that keeps parts of its answers encoded (a long
    listing) answers with it instead of the data."""


def encode_json(data: Any) -> str:
    """JSON as Starlette's JSONResponse encodes it."""
    return _STARLETTE_JSON.encode(data)


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> HttpResponse:
    """JSON as Starlette's JSONResponse encodes it."""
    return respond(_STARLETTE_JSON.encode(data), status, JSON, headers)


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


class Routes:
    """A node's endpoints by method and path; a `{name}` segment of a path is a path parameter."""

    def __init__(self, routes: list[tuple[str, str, Endpoint]]) -> None:
        self._routes = routes
        self.outside = OutsideCalls()  # calls from outside the cloud (services/outside.py), counted at the live edge
        self._exact: dict[str, dict[str, Endpoint]] = {}
        self._patterns: list[tuple[list[str], str, Endpoint]] = []
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
        parts = request.path.split("/")
        found: dict[str, Endpoint] = {}
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
                request.path_params = params
                found[method] = endpoint
        return found or None

    @cached_property
    def asgi(self) -> Starlette:
        """The live app: Starlette's routing, each route converting to and from the endpoint's own types."""
        return Starlette(
            routes=[
                Route(path, _starlette(endpoint, self.outside), methods=[method])
                for method, path, endpoint in self._routes
            ]
        )


def _starlette(endpoint: Endpoint, outside: OutsideCalls) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        body = await request.body()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.headers.raw}
        light = HttpRequest(
            request.method, request.url.path, headers, body, request.url.query, dict(request.path_params)
        )
        reply = await endpoint(light)
        kept = {k: v for k, v in reply.headers.items() if k not in ("content-length", "content-type")}
        if from_outside(headers):
            outside.note(reply.status_code, reply.headers, reply.content)
            if outside.close_connections:
                kept["connection"] = "close"
        return Response(
            reply.content, status_code=reply.status_code, headers=kept, media_type=reply.headers.get("content-type")
        )

    return serve
