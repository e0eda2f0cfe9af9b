"""The operator's console: a page on loopback that shows the live cloud and takes the operators' actions.

`cascadesim run|serve SCENARIO --console` serves it beside the run, on 127.0.0.1 (a port the kernel picks, unless
given). The page (reports/console/) draws the cloud as a graph (reports/console_model.py), the run's charts and its
events as they happen, all sent down one server-sent-events stream, and has a button for each operator action and
fault this cloud has. A button pressed is taken as a scripted action is (scenarios/run/faults.py `start_now`), and
its events say `by = "console"`. In a console run the scenario's own operator actions are left out: the operator is
whoever sits at the page. At the end the run directory gets `response.toml`: the scenario with the actions taken at
the page at the times they were taken, in the scenario's own time (live compression undone), which
`cascadesim run response.toml --virtual` plays back.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import tomli_w
from anyio.streams.memory import MemoryObjectSendStream
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from reports import console_model
from reports.console_model import Graph, Happenings, graph_of, states
from reports.render import plotly_js
from scenarios.config.schema import (
    DisableNlbFailover,
    EnactorDelay,
    Fault,
    KillNode,
    LoadSpike,
    OperatorAction,
    PlannerChurn,
    RelaxThrottles,
    RestartDwfm,
    RestartPoller,
    RestoreDns,
    Scenario,
    ThrottleDwfm,
    parse_scenario,
)
from scenarios.run.faults import applies, end_now, start_now
from services.dns import REGIONAL
from services.event_kinds import CONTROL_PLANE_STEPS, FaultKind, OperatorKind
from services.events import Event
from services.net.addresses import HOST
from services.topology.cloud import Cloud

BY = "console"
CHART_COLUMNS = (  # what the page's charts draw, where the run has it
    "dns_regional_addresses",
    "dwfm_leases",
    "dynamodb_arrivals",
    "dynamodb_completed",
    "ec2_api_completed",
    "netmgr_queue",
    "lambda_poller_backlog",
)
KILLABLE = ("ec2-api", "netmgr", "lambda")
ROWS_KEPT = 3600


@dataclass(frozen=True)
class Control:
    """One button of the operator's panel."""

    id: str
    label: str
    items: tuple[Fault | OperatorAction, ...]  # what pressing it takes (the race is two faults)
    revives: str | None = None  # a "revive" button: the node it brings back


def controls(scenario: Scenario, cloud: Cloud) -> list[Control]:
    """The panel's buttons for this cloud: the race, each operator action, a kill and a revive per node."""
    scripted_rate = next((a.rate for a in scenario.operator if isinstance(a, ThrottleDwfm)), 10.0)
    race = (
        PlannerChurn(kind=FaultKind.PLANNER_CHURN, at=0, duration=25, plan_interval=0.25),
        EnactorDelay(kind=FaultKind.ENACTOR_DELAY, enactor="A", at=0, duration=20, delay=5.0),
    )
    candidates = [
        Control("race", "Trigger the Enactor race (25 s of planner churn, Enactor A slowed)", race),
        Control("restore_dns", "Restore DNS", (RestoreDns(kind=OperatorKind.RESTORE_DNS, at=0),)),
        Control(
            "throttle_dwfm",
            f"Throttle DWFM ({scripted_rate:g}/s)",
            (ThrottleDwfm(kind=OperatorKind.THROTTLE_DWFM, at=0, rate=scripted_rate),),
        ),
        Control("restart_dwfm", "Restart DWFM", (RestartDwfm(kind=OperatorKind.RESTART_DWFM, at=0),)),
        Control("relax_throttles", "Relax throttles", (RelaxThrottles(kind=OperatorKind.RELAX_THROTTLES, at=0),)),
        Control("restart_poller", "Restart the poller", (RestartPoller(kind=OperatorKind.RESTART_POLLER, at=0),)),
        Control(
            "disable_nlb_failover",
            "Disable NLB failover",
            (DisableNlbFailover(kind=OperatorKind.DISABLE_NLB_FAILOVER, at=0),),
        ),
    ]
    if scenario.load is not None:  # Locust's users, through console-load.json (loadgen/locustfile.py)
        for factor, label in ((2.0, "Double the users for 60 s"), (0.5, "Halve the users for 60 s")):
            spike = LoadSpike(kind=FaultKind.LOAD_SPIKE, at=0, factor=factor, duration=60)
            candidates.append(Control(f"users:{factor:g}", label, (spike,)))
    nodes = [f"router-{k}" for k in range(1, len(cloud.routers) + 1)] + [n for n in KILLABLE if n in cloud.nodes()]
    for node in nodes:
        kill = KillNode(kind=FaultKind.KILL_NODE, at=0, node=node)
        candidates += [
            Control(f"kill:{node}", f"Kill {node}", (kill,)),
            Control(f"revive:{node}", f"Revive {node}", (kill,), node),
        ]
    if not cloud.nlbs:
        candidates = [c for c in candidates if c.id != "disable_nlb_failover"]
    return [c for c in candidates if all(applies(item, cloud) for item in c.items)]


@dataclass
class Taken:
    """What the operator did at the console: an item, at a second of the live run."""

    at: float
    item: Fault | OperatorAction
    ended: float | None = None  # a kill revived from the console: when


@dataclass
class OperatorConsole:
    """The console of one live run: its page's server, what it streams, and what was done at it."""

    scenario: Scenario  # as the run plays it (`for_live`)
    original: Scenario  # as written, whose times response.toml keeps
    port: int = 0
    on_listening: Callable[[str], None] | None = None
    directory: Path | None = None  # the run's (execute sets it): where Locust reads the users' changes
    taken: list[Taken] = field(default_factory=list)
    # What a page that opens late is sent first: every event, and the last hour of rows (a long run's charts start
    # there; the run directory has them all).
    _event_frames: list[str] = field(default_factory=list)
    _row_frames: deque[str] = field(default_factory=lambda: deque(maxlen=ROWS_KEPT))
    _subscribers: list[MemoryObjectSendStream[str]] = field(default_factory=list)
    _cloud: Cloud | None = None
    _controls: dict[str, Control] = field(default_factory=dict)
    _happenings: Happenings = field(default_factory=Happenings)
    _tasks: anyio.abc.TaskGroup | None = None
    _graph: Graph = field(default_factory=lambda: Graph((), ()))
    url: str | None = None

    # --- fed by the run ---

    def on_event(self, event: Event) -> None:
        """A sink of the run's event log."""
        if event.kind in CONTROL_PLANE_STEPS:
            return
        self._happenings.note(str(event.kind), event.source)
        self._send("event", event_record(event))

    def on_row(self, row: dict[str, float | int]) -> None:
        """The sampler's listener: a second's row."""
        if self._cloud is None:
            return
        record = self._cloud.dns.zone.get(REGIONAL)
        addresses = [] if record is None else sorted(a.ip for a in record.addresses)
        frame = {
            "second": int(row["second"]),
            "states": states(self._graph, row, self._happenings, addresses),
            "series": {c: row[c] for c in CHART_COLUMNS if c in row},
        }
        self._send("row", frame)

    def _send(self, kind: str, data: dict[str, Any]) -> None:
        message = f"event: {kind}\ndata: {json.dumps(finite(data), allow_nan=False)}\n\n"
        (self._row_frames if kind == "row" else self._event_frames).append(message)
        for subscriber in list(self._subscribers):
            try:
                subscriber.send_nowait(message)
            except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._subscribers.remove(subscriber)  # a page that does not keep up: its stream ends (it says so)
                subscriber.close()

    # --- the server ---

    async def serve(self, cloud: Cloud) -> None:
        """Serve the page until cancelled (the run's end)."""
        from services.net.network import LiveNetwork

        self._graph = graph_of(self.scenario.model_dump(mode="json", by_alias=True, exclude_none=True))
        self._cloud = cloud
        self._controls = {c.id: c for c in controls(self.scenario, cloud)}
        app = Starlette(
            routes=[
                *static_routes(),
                Route("/api/info", self._info),
                Route("/api/stream", self._stream),
                Route("/api/action", self._action, methods=["POST"]),
            ]
        )
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            tasks.start_soon(self._end_streams_at_the_end)
            address = await tasks.start(LiveNetwork().serve_asgi, app, (HOST, self.port))
            self.url = f"http://{address[0]}:{address[1]}/"
            if self.on_listening is not None:
                self.on_listening(self.url)

    async def _end_streams_at_the_end(self) -> None:
        """The pages' streams end with the run, so that the server stops at once instead of waiting for them."""
        try:
            await anyio.sleep_forever()
        finally:
            for subscriber in self._subscribers:
                subscriber.close()

    async def _info(self, request: Request) -> Response:
        return JSONResponse(
            {
                "mode": "live",
                "scenario": self.scenario.name,
                "description": self.scenario.description,
                "duration": self.scenario.duration,
                "graph": self._graph.to_json(),
                "record": REGIONAL,  # the name whose addresses the zone's node shows
                "controls": [{"id": c.id, "label": c.label} for c in self._controls.values()],
            }
        )

    async def _stream(self, request: Request) -> Response:
        send, receive = anyio.create_memory_object_stream[str](10_000)
        backlog = [*self._event_frames, *self._row_frames]
        self._subscribers.append(send)

        async def messages() -> AsyncIterator[str]:
            try:
                for message in backlog:
                    yield message
                async with receive:
                    async for message in receive:
                        yield message
            finally:
                if send in self._subscribers:
                    self._subscribers.remove(send)
                send.close()

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(messages(), media_type="text/event-stream", headers=headers)

    async def _action(self, request: Request) -> Response:
        try:
            wanted = (await request.json())["action"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'expected a JSON body {"action": ID}'}, status_code=400)
        control = self._controls.get(str(wanted))
        if control is None or self._cloud is None or self._tasks is None:
            return JSONResponse({"error": f"no such action here: {wanted!r}"}, status_code=404)
        cloud = self._cloud
        now = cloud.events.now()
        if control.revives is not None:
            open_kill = next(
                (t for t in reversed(self.taken) if isinstance(t.item, KillNode) and t.item.node == control.revives
                 and t.ended is None and t.item.duration is None),
                None,
            )  # fmt: skip
            if open_kill is None:
                return JSONResponse({"error": f"{control.revives} was not killed from this console"}, status_code=409)
            open_kill.ended = now
            end_now(open_kill.item, cloud, BY)  # type: ignore[arg-type]
            return JSONResponse({"taken": control.id, "t": round(now, 3)})
        for item in control.items:  # taken here and now, so that the time kept is the time of its events
            self.taken.append(Taken(now, item))
            ending = start_now(item, cloud, BY)
            if ending is not None:
                self._tasks.start_soon(ending)
            if isinstance(item, LoadSpike):
                self._tell_locust()
        return JSONResponse({"taken": control.id, "t": round(now, 3)})

    def _tell_locust(self) -> None:
        """Every load change taken so far, as windows of the run's clock, where Locust's shape reads them."""
        if self.directory is None:
            return
        windows = [[t.at, t.at + t.item.duration, t.item.factor] for t in self.taken if isinstance(t.item, LoadSpike)]
        path = self.directory / "locust" / "console-load.json"  # Locust's own directory, its RUN_DIR
        path.parent.mkdir(exist_ok=True)
        part = path.with_suffix(".part")
        part.write_text(json.dumps(windows), encoding="utf-8")
        part.replace(path)  # whole, or not at all, for a reader polling it

    # --- what is left ---

    def write(self, directory: Path) -> None:
        """response.toml; and, to set it beside the scenario's own script with `compare`, script.toml (the scenario
        as written) and response-vs-script.toml (a what-if file of the two)."""
        changes = self.response().model_dump(mode="json", by_alias=True, exclude_none=True)
        written = self.original.model_dump(mode="json", by_alias=True, exclude_none=True)
        (directory / "response.toml").write_text(tomli_w.dumps(changes), encoding="utf-8")
        (directory / "script.toml").write_text(tomli_w.dumps(written), encoding="utf-8")
        what_if = {
            "scenario": "script.toml",
            "question": "What did the operator's response at the console change, beside the scenario's own script?",
            "variant": [
                {"name": "script", "sentence": "The scenario's operators, as written."},
                {
                    "name": "your-response",
                    "sentence": "The actions taken at the console, at their times.",
                    "set": {"operator": changes.get("operator", []), "faults": changes.get("faults", [])},
                },
            ],
        }
        (directory / "response-vs-script.toml").write_text(tomli_w.dumps(what_if), encoding="utf-8")

    def response(self) -> Scenario:
        """The scenario as written, its operator being what was done at the console, at the scenario's times."""
        original = self.original
        k, origin = original.live_compression, original.live_from

        def later(t: float) -> float:  # `for_live`'s compression, undone
            return round(t if t <= origin else origin + (t - origin) * k, 3)

        data = original.model_dump(mode="json", by_alias=True, exclude_none=True)
        faults = list(data.get("faults", []))
        operator: list[dict[str, Any]] = []
        for taken in self.taken:
            item = taken.item.model_dump(mode="json", by_alias=True, exclude_none=True)
            item["at"] = later(taken.at)
            if isinstance(taken.item, KillNode) and taken.ended is not None:
                item["duration"] = max(0.001, round(later(taken.ended) - item["at"], 3))
            (operator if item["kind"] in set(OperatorKind) else faults).append(item)
        data["faults"], data["operator"] = faults, operator
        data["description"] = f"{original.description} (the operator's response at the console)".strip()
        return parse_scenario(data, "response.toml")


PAGE = Path(console_model.__file__).resolve().parent / "console"  # the page's files, beside the model they draw
STATIC = {"/": ("page.html", "text/html"), "/console.js": ("console.js", "text/javascript"),
          "/console.css": ("console.css", "text/css")}  # fmt: skip


def static_routes() -> list[Route]:
    """The page's own files, and Plotly's bundle (the page loads nothing from elsewhere)."""

    def serve(name: str, media: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return Response((PAGE / name).read_bytes(), media_type=media, headers=SECURITY)

        return endpoint

    async def plotly(request: Request) -> Response:
        return Response(plotly_js(), media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})

    routes = [Route(path, serve(name, media)) for path, (name, media) in STATIC.items()]
    return [*routes, Route("/plotly.min.js", plotly)]


# Only this server's own scripts, styles and data; nothing fetched from elsewhere.
SECURITY = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src data:",
    "Cache-Control": "no-store",
}


def finite(value: Any) -> Any:
    """JSON's numbers: a NaN or an infinity (a latency of nothing, say) is null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def event_record(event: Event) -> dict[str, Any]:
    """An event as the page gets it: its time, kind, source, message, and its data's plain values."""
    record: dict[str, Any] = {"t": round(event.t, 3), "kind": str(event.kind), "source": event.source}
    record["message"] = event.message
    for key, value in event.data.items():
        if isinstance(value, str | int | float | bool) or value is None:
            record.setdefault(key, value)
    return record
