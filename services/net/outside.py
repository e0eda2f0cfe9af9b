"""Calls from outside the cloud: a program of the user's (under `cascadesim exec` or the pytest plugin), or anyone
with curl, told apart from the cloud's own clients by its User-Agent.

Every client of the cloud's own (the services' internal clients, the Planner's health checks, the Locust and
virtual users) sends `User-Agent: cascadesim`; any other caller is from outside. A node counts the outside calls
it answers by how they ended, the way an SDK would class the reply (services/net/protocol.py), so a run can show the
user's program as a series of its own. Such a call can only arrive over a real socket, so only the live edge
(`Routes.asgi`) counts them; during a run with a program there it also asks the caller to close its connection
after each reply (`OutsideCalls.close_connections`).
"""

from __future__ import annotations

from collections.abc import Mapping

from services.net.protocol import error_code
from services.throttling.outcome import THROTTLING_CODES, TOO_MANY_REQUESTS

OWN_AGENT = "cascadesim"
OUTSIDE_OUTCOMES = ("ok", "throttled", "server_error", "client_error")


def from_outside(headers: Mapping[str, str]) -> bool:
    agent = headers.get("user-agent") or ""
    return not agent.startswith(OWN_AGENT)


def outcome_of(status: int, headers: Mapping[str, str], body: bytes) -> str:
    """How an outside call ended, one of OUTSIDE_OUTCOMES."""
    if status < 400:
        return "ok"
    if status == TOO_MANY_REQUESTS or error_code(status, headers, body) in THROTTLING_CODES:
        return "throttled"
    return "server_error" if status >= 500 else "client_error"


class OutsideCalls:
    """A node's running totals of outside calls, by outcome."""

    def __init__(self) -> None:
        self.totals = dict.fromkeys(OUTSIDE_OUTCOMES, 0)
        # Over the hours of the real outage every client's pooled connection to DynamoDB was recycled, so every
        # client came to resolve the name again and found it empty. Compressed into a minute, a program that calls
        # once a second would keep one connection open through the whole race and never notice; so during a run with
        # a program the cloud's front ends close an outside caller's connection after each reply, and the program
        # resolves the name on every call (as often as its own cache of the answer lets it).
        self.close_connections = False

    def note(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.totals[outcome_of(status, headers, body)] += 1
