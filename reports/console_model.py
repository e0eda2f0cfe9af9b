"""The operator's console as data: the cloud drawn as a graph, and each node's state and figures at one second.

The console page (reports/console/) draws what this module says, live (scenarios/run/operator_console.py, one
second at a time as the sampler takes it) or from a saved run (`cascadesim console RUN_DIR`, any second). Both
read the same things: the scenario as a plain dict (scenario.toml's), a row of timeseries.csv (reports/columns.py)
and the events so far, so a second looks the same whichever way it is shown.

A node's state, from its row:
    down        killed (a kill_node fault), or every router of DynamoDB's killed
    rejecting   it turned away, dropped or let expire more than a tenth of what arrived
    saturated   requests wait in its queue
    serving     it answered what came
    idle        nothing arrived this second
The zone's node is "empty" (drawn as down) while DynamoDB's regional record has no address, DWFM's "saturated"
while it holds fewer leases than there are droplets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reports.columns import (
    DNS_REGIONAL_ADDRESSES,
    DWFM,
    DWFM_LEASES,
    DYNAMODB,
    EC2_API,
    IN_FLIGHT,
    LAMBDA,
    LAMBDA_POLLER_BACKLOG,
    NETMGR,
    P99_MS,
    QUEUE,
    node_column,
)

Row = Mapping[str, float | int]
STATES = ("idle", "serving", "saturated", "rejecting", "down")
TURNED_AWAY = ("rejected", "expired", "dropped", "shed")

# Columns of the graph, left to right: who calls whom flows towards DNS, which everyone depends on.
_SERVICES = {"dynamodb": DYNAMODB, "ec2": EC2_API, "lambda": LAMBDA}  # a service's name -> its node
_X = {"load": 0, "front": 1, "inner": 2, "dynamodb": 3, "resolver": 4, "zone": 5, "control": 6}


@dataclass(frozen=True)
class GraphNode:
    id: str
    label: str
    kind: str  # what it is, in a word or two (shown under its label)
    column: str  # one of _X
    capacity: str | None = None  # its prefix in timeseries.csv, when it has a capacity model
    kill_names: tuple[str, ...] = ()  # the names its node_killed events carry


@dataclass(frozen=True)
class Graph:
    nodes: tuple[GraphNode, ...]
    edges: tuple[tuple[str, str], ...]  # (caller, callee)
    droplets: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Each node with its place (x, y in 0..1), and the edges, for the page."""
        by_column: dict[str, list[GraphNode]] = {}
        for node in self.nodes:
            by_column.setdefault(node.column, []).append(node)
        used = sorted(by_column, key=_X.__getitem__)  # the columns this cloud has, spread over the width
        placed = []
        for column, members in by_column.items():
            for k, node in enumerate(members):
                placed.append(
                    {
                        "id": node.id,
                        "label": node.label,
                        "kind": node.kind,
                        "x": used.index(column) / max(1, len(used) - 1),
                        "y": (k + 1) / (len(members) + 1),
                    }
                )
        return {"nodes": placed, "edges": [list(e) for e in self.edges]}


def graph_of(scenario: Mapping[str, Any]) -> Graph:
    """The graph of a scenario (scenario.toml's data)."""
    routers = int(scenario.get("dynamodb", {}).get("routers", 3))
    nodes = [
        GraphNode("planner", "DNS Planner", "writes plans", "control"),
        GraphNode("enactors", "Enactors A, B, C", "apply plans to the zone", "control"),
        GraphNode("zone", "Route 53 zone", "DynamoDB's record", "zone"),
        GraphNode("resolver", "shared resolver", "DNS for every client", "resolver"),
        GraphNode(
            DYNAMODB,
            "DynamoDB",
            f"{routers} router{'s' if routers != 1 else ''}",
            "dynamodb",
            DYNAMODB,
            tuple(f"router-{k}" for k in range(1, routers + 1)) + tuple(f"nginx-{k}" for k in range(1, routers + 1)),
        ),
    ]
    edges = [("planner", "enactors"), ("enactors", "zone"), ("zone", "resolver"), ("resolver", DYNAMODB)]
    ec2 = scenario.get("ec2")
    droplets = None
    if ec2 is not None:
        droplets = int(ec2.get("droplets", 0)) or None
        nodes += [
            GraphNode(EC2_API, "EC2 API", "RunInstances ...", "front", EC2_API, ("ec2-api",)),
            GraphNode(DWFM, "DWFM", "droplet leases", "inner", DWFM, ("dwfm",)),
            GraphNode(NETMGR, "Network Manager", "propagates network state", "inner", NETMGR, ("netmgr",)),
        ]
        edges += [(EC2_API, DWFM), (DWFM, DYNAMODB), (EC2_API, NETMGR)]
    if scenario.get("lambda") is not None:
        nodes += [
            GraphNode(LAMBDA, "Lambda", "Invoke", "front", LAMBDA, ("lambda",)),
            GraphNode("poller", "event-source poller", "SQS-like queue", "inner"),
        ]
        edges += [(LAMBDA, DYNAMODB), ("poller", LAMBDA)]
    for service in scenario.get("services", ()):
        name = str(service["name"])
        kind = "behind an NLB" if service.get("nlb") else "declared service"
        nodes.append(GraphNode(name, name, kind, "front", name, (name,)))
        called = {str(c["service"]) for op in service.get("operations", {}).values() for c in op.get("calls", ())}
        for dependency in sorted(called):
            edges.append((name, _SERVICES.get(dependency, dependency)))
    load = scenario.get("load")
    if load is not None:
        mix = {k: w for k, w in dict(load.get("mix", {"dynamodb": 1})).items() if w}
        kinds = ", ".join(sorted(mix)) or "no mix"
        nodes.append(GraphNode("users", "users", kinds if len(kinds) <= 24 else kinds[:23] + "…", "load"))
        for kind in sorted(mix):
            edges.append(("users", _SERVICES.get(kind, kind)))
    known = {n.id for n in nodes}
    return Graph(tuple(nodes), tuple(e for e in edges if e[0] in known and e[1] in known), droplets)


@dataclass
class Happenings:
    """What the events so far say about the nodes: which are killed, how many NLB targets are out of service."""

    killed: set[str] = field(default_factory=set)
    targets_out: dict[str, int] = field(default_factory=dict)

    def note(self, kind: str, source: str) -> None:
        if kind == "node_killed":
            self.killed.add(source)
        elif kind == "node_revived":
            self.killed.discard(source)
        elif kind == "nlb_target_out":
            self.targets_out[source] = self.targets_out.get(source, 0) + 1
        elif kind == "nlb_target_in":
            self.targets_out[source] = max(0, self.targets_out.get(source, 0) - 1)

    @classmethod
    def replayed(cls, events: Iterable[tuple[str, str]]) -> Happenings:
        happenings = cls()
        for kind, source in events:
            happenings.note(kind, source)
        return happenings


def states(graph: Graph, row: Row, happenings: Happenings, addresses: list[str] | None = None) -> dict[str, Any]:
    """Every node's state and figures at the second `row` closes (`addresses`: the record's, when known)."""
    out: dict[str, Any] = {}
    for node in graph.nodes:
        out[node.id] = _state(graph, node, row, happenings)
    count = int(row.get(DNS_REGIONAL_ADDRESSES, 0))
    zone: dict[str, Any] = {"state": "serving" if count else "down", "figures": {"addresses": count}}
    if addresses is not None:
        zone["addresses"] = addresses
    out["zone"] = zone
    return out


def _state(graph: Graph, node: GraphNode, row: Row, happenings: Happenings) -> dict[str, Any]:
    figures: dict[str, float | int] = {}
    state = "serving"
    if node.capacity is not None:
        prefix = node.capacity
        arrivals = float(row.get(node_column(prefix, "arrivals"), 0))
        away = sum(float(row.get(node_column(prefix, c), 0)) for c in TURNED_AWAY)
        queue = float(row.get(node_column(prefix, QUEUE), 0))
        figures = {
            "arrivals/s": _n(arrivals),
            "goodput/s": _n(float(row.get(node_column(prefix, "completed"), 0))),
            "queue": _n(queue),
            "in flight": _n(float(row.get(node_column(prefix, IN_FLIGHT), 0))),
            "errors/s": _n(away),
            "p99 ms": round(float(row.get(node_column(prefix, P99_MS), 0)), 1),
        }
        if arrivals == 0 and queue == 0:
            state = "idle"
        elif away > 0.1 * arrivals and away > 0:
            state = "rejecting"
        elif queue > 0:
            state = "saturated"
    killed = [name for name in node.kill_names if name in happenings.killed]
    if killed:
        figures["killed"] = len(killed)
        routers = [n for n in node.kill_names if n.startswith("router-")]
        state = "down" if node.id != DYNAMODB or len(killed) >= len(routers) else "rejecting"
    if node.id == DWFM and DWFM_LEASES in row:
        figures["leases"] = _n(float(row[DWFM_LEASES]))
        if graph.droplets is not None:
            figures["droplets"] = graph.droplets
            if state not in ("down", "rejecting") and float(row[DWFM_LEASES]) < graph.droplets:
                state = "saturated"
    if node.id == NETMGR:
        figures["backlog"] = figures.get("queue", 0)
    if node.id == "poller":
        backlog = float(row.get(LAMBDA_POLLER_BACKLOG, 0))
        figures = {"backlog": _n(backlog)}
        state = "saturated" if backlog > 0 else "serving"
    out_of_service = sum(v for k, v in happenings.targets_out.items() if k == node.id)
    if out_of_service:
        figures["targets out"] = out_of_service
    return {"state": state, "figures": figures}


def _n(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)
