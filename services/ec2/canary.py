"""A launch canary, as AWS runs: every `interval` seconds it launches one instance and terminates it, and reports
when launches start and stop failing. It is how the event log sees "launches failing with insufficient capacity"."""

from __future__ import annotations

import json

from services import runtime
from services.client.service_client import ServiceClient
from services.errors import CallFailed
from services.event_kinds import EventKind
from services.events import EventLog
from services.net.http import HttpResponse


class LaunchCanary:
    def __init__(self, ec2: ServiceClient, events: EventLog, *, interval: float = 5.0) -> None:
        self.ec2 = ec2
        self.events = events
        self.interval = interval
        self.failing = False
        self.results: list[tuple[float, str]] = []
        self._leftover: list[str] = []  # launched, but EC2 went away before they could be terminated

    async def run(self) -> None:
        while True:
            await self.probe()
            await runtime.sleep(self.interval)

    async def probe(self) -> str:
        try:
            response = await self._call({"Action": "RunInstances", "MinCount": 1, "MaxCount": 1})
            body = response.json()
        except (CallFailed, ValueError) as exc:
            outcome = f"unreachable ({exc})"
        else:
            if response.status_code == 200:
                outcome = "ok"
                ids = [i["InstanceId"] for i in body.get("Instances", [])]
                try:
                    await self._call({"Action": "TerminateInstances", "InstanceIds": self._leftover + ids})
                    self._leftover = []
                except CallFailed:  # EC2 went away between the two calls: terminated after the next launch
                    self._leftover += ids
            else:
                outcome = str(body.get("Error", {}).get("Code", response.status_code))
        self.results.append((self.events.now(), outcome))
        if outcome != "ok" and not self.failing:
            self.failing = True
            self.events.emit(EventKind.LAUNCHES_FAILING, "ec2-canary", f"RunInstances fails: {outcome}", code=outcome)
        elif outcome == "ok" and self.failing:
            self.failing = False
            self.events.emit(EventKind.LAUNCHES_RECOVERED, "ec2-canary", "RunInstances succeeds again")
        return outcome

    async def _call(self, body: dict[str, object]) -> HttpResponse:
        return await self.ec2.request(
            "POST",
            "/",
            headers={"content-type": "application/json"},
            content=json.dumps(body).encode(),
            deadline=runtime.current_time() + 5.0,
        )
