"""The console's graph and each node's state, from a scenario and a row (reports/console_model.py)."""

from __future__ import annotations

from reports.console_model import Happenings, graph_of, states
from tests.helpers import shipped


def _cascade() -> dict[str, object]:
    return shipped("cascade-live").model_dump(mode="json", by_alias=True, exclude_none=True)


def test_the_graph_of_cascade_live_has_every_part_and_who_calls_whom() -> None:
    graph = graph_of(_cascade())
    ids = {n.id for n in graph.nodes}
    assert {"planner", "enactors", "zone", "resolver", "dynamodb", "ec2_api", "dwfm", "netmgr", "lambda"} <= ids
    assert {"poller", "sts", "users"} <= ids
    assert {("dwfm", "dynamodb"), ("sts", "dynamodb"), ("users", "ec2_api"), ("zone", "resolver")} <= set(graph.edges)
    placed = graph.to_json()["nodes"]
    assert all(0 <= n["x"] <= 1 and 0 < n["y"] < 1 for n in placed)
    assert len({(n["x"], n["y"]) for n in placed}) == len(placed)  # no two boxes on one spot


def test_a_nodes_state_follows_its_row() -> None:
    graph = graph_of(_cascade())
    row = {
        "dns_regional_addresses": 0,
        "dynamodb_arrivals": 100,
        "dynamodb_completed": 60,
        "dynamodb_rejected": 40,
        "ec2_api_arrivals": 10,
        "ec2_api_completed": 10,
        "ec2_api_queue": 3,
        "lambda_arrivals": 0,
        "dwfm_leases": 40,
        "lambda_poller_backlog": 7,
    }
    seen = states(graph, row, Happenings.replayed([("node_killed", "netmgr")]), addresses=[])
    assert seen["dynamodb"]["state"] == "rejecting" and seen["dynamodb"]["figures"]["errors/s"] == 40
    assert seen["ec2_api"]["state"] == "saturated"
    assert seen["lambda"]["state"] == "idle"
    assert seen["netmgr"]["state"] == "down"
    assert seen["dwfm"]["figures"]["leases"] == 40 and seen["dwfm"]["figures"]["droplets"] == 100
    assert seen["poller"] == {"state": "saturated", "figures": {"backlog": 7}}
    assert seen["zone"]["state"] == "down" and seen["zone"]["addresses"] == []


def test_dynamodb_is_down_only_when_every_router_is() -> None:
    graph = graph_of(_cascade())
    one = Happenings.replayed([("node_killed", "router-1")])
    every = Happenings.replayed([("node_killed", f"router-{k}") for k in (1, 2, 3)])
    back = Happenings.replayed([("node_killed", "router-1"), ("node_revived", "router-1")])
    row = {"dynamodb_arrivals": 10, "dynamodb_completed": 10}
    assert states(graph, row, one)["dynamodb"]["state"] == "rejecting"
    assert states(graph, row, every)["dynamodb"]["state"] == "down"
    assert states(graph, row, back)["dynamodb"]["state"] == "serving"
