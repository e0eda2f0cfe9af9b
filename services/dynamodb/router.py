"""A DynamoDB request router: one of the "load balancers" the DNS Planner puts in its plans.

For now a router answers only `GET /health`; the DynamoDB JSON protocol arrives with the DynamoDB issue.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class Router:
    """A router node; `healthy` is what its health check reports (faults may flip it)."""

    def __init__(self, name: str, weight: int = 1) -> None:
        self.name = name
        self.weight = weight
        self.healthy = True
        self.app = Starlette(routes=[Route("/health", self._health, methods=["GET"])])

    async def _health(self, request: Request) -> JSONResponse:
        if not self.healthy:
            return JSONResponse({"status": "unhealthy", "router": self.name}, status_code=503)
        return JSONResponse({"status": "ok", "router": self.name, "weight": self.weight})
