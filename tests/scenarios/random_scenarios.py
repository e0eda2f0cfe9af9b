"""Valid-looking scenario files nobody wrote, as hypothesis draws them: the sections in any combination (EC2,
Lambda, declared services calling each other, behind an NLB or not, speaking STS or not, load stages of 0 users,
faults at time 0, kill_node of the only router, operator actions timed from events), small enough to run in a few
seconds of virtual time (`verdict_cap` = the duration). Some break a rule across sections (an NLB that needs more
instances than EC2 has, say): the scenario checks refuse those with one line, which is the other allowed outcome.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from scenarios.config.policies import POLICY_DIR

POLICIES = sorted(p.stem for p in POLICY_DIR.glob("*.toml"))
ANCHORS = [
    "record_emptied",
    "dynamodb_unreachable",
    "leases_expiring",
    "launches_failing",
    "restore_dns",
    "throttle_dwfm",
    "nlb_flapping",
    "poller_stuck",
]
CONDITIONS = [None, "record_empty", "dwfm_stalled", "poller_stuck", "nlb_flapping", "dwfm_throttled"]


def seconds(low: float, high: float) -> st.SearchStrategy[float]:
    return st.integers(int(low * 4), int(high * 4)).map(lambda q: q / 4)


@st.composite
def capacity(draw: st.DrawFn, workers: int = 16) -> dict[str, Any]:
    return {
        "workers": draw(st.integers(1, workers)),
        "queue_limit": draw(st.integers(0, 64)),
        "service_time": {
            "kind": draw(st.sampled_from(["exponential", "constant"])),
            "mean": draw(seconds(0, 0.25)) or 0.001,
        },
    }


@st.composite
def declared(
    draw: st.DrawFn, index: int, has_ec2: bool, has_lambda: bool, earlier: list[dict[str, Any]]
) -> dict[str, Any]:
    protocol = draw(st.sampled_from(["json", "json", "sts"]))
    names = ["AssumeRole"] if protocol == "sts" else []
    names += draw(st.lists(st.sampled_from(["Get", "Put", "Query", "Launch", "Contact"]), max_size=2, unique=True))
    names = names or ["Get"]
    targets = [("dynamodb", "GetItem"), ("dynamodb", "PutItem"), ("dynamodb", "Query")]
    targets += [("ec2", "RunInstances"), ("ec2", "DescribeInstances")] if has_ec2 else []
    targets += [("lambda", "Invoke")] if has_lambda else []
    targets += [(s["name"], op) for s in earlier for op in s["operations"]]
    operations = {}
    for name in names:
        calls = []
        for target, op in draw(st.lists(st.sampled_from(targets), max_size=3)):
            call: dict[str, Any] = {"service": target, "operation": op}
            if target == "dynamodb":
                call["table"] = f"table-{index}"
            if draw(st.booleans()):
                call["cache_ttl"] = draw(seconds(0.25, 10))
                if draw(st.booleans()):
                    call["on_failure"] = "serve_from_cache"
            calls.append(call)
        operations[name] = {"calls": calls}
    service: dict[str, Any] = {"name": f"svc{index}", "protocol": protocol, "operations": operations}
    if draw(st.booleans()):
        service["capacity"] = draw(capacity(workers=4))
    if has_ec2 and draw(st.booleans()):
        service["nlb"] = {
            "targets": draw(st.integers(1, 3)),
            "nodes": draw(st.integers(1, 2)),
            "checkers": draw(st.integers(1, 3)),
            "check_interval": draw(seconds(0.5, 3)),
            "checker_lifetime": draw(seconds(2, 20)),
            "dns_failover": draw(st.booleans()),
        }
    return service


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    duration = draw(seconds(3, 30))
    data: dict[str, Any] = {
        "name": "generated",
        "seed": draw(st.integers(0, 2**31)),
        "duration": duration,
        "verdict_cap": duration,
        "policy": draw(st.sampled_from(POLICIES)),
        "enactors": {"variant": draw(st.sampled_from(["aws-2025", "fixed"]))},
        "dynamodb": {"routers": draw(st.integers(1, 3)), "capacity": draw(capacity())},
    }
    routers = data["dynamodb"]["routers"]
    has_ec2 = draw(st.booleans())
    has_lambda = has_ec2 and draw(st.booleans())
    if has_ec2:
        data["ec2"] = {
            "droplets": draw(st.integers(1, 30)),
            "dwfm_workers": draw(st.integers(1, 2)),
            "lease_duration": draw(seconds(4, 30)),
            "renew_margin": draw(seconds(1, 3)),
            "item_timeout": draw(seconds(0.5, 5)),
            "bootstrap_rate": draw(seconds(1, 20)),
        }
    if has_lambda:
        sandboxes = draw(st.integers(1, 4))
        data["lambda"] = {
            "sandboxes": sandboxes,
            "max_sandboxes": draw(st.integers(sandboxes, 8)),
            "config_ttl": draw(seconds(0.5, 30)),
            "poller_supervised": draw(st.booleans()),
        }
    services: list[dict[str, Any]] = []
    for index in range(draw(st.integers(0, 2))):
        services.append(draw(declared(index, has_ec2, has_lambda, services)))
    if services:
        data["services"] = services
    kinds = [
        "dynamodb",
        *(["ec2"] if has_ec2 else []),
        *(["lambda"] if has_lambda else []),
        *(s["name"] for s in services),
    ]
    has_load = draw(st.booleans())
    if has_load:
        ends = sorted(draw(st.lists(seconds(0.25, duration), min_size=1, max_size=3, unique=True)))
        data["load"] = {
            "mix": {
                k: draw(st.integers(0, 3)) for k in draw(st.lists(st.sampled_from(kinds), min_size=1, unique=True))
            },
            "stages": [{"until": end, "users": draw(st.integers(0, 12))} for end in ends],
            "spawn_rate": draw(seconds(1, 20)),
        }
    nodes = [f"router-{r}" for r in range(1, routers + 1)] + (["ec2-api", "netmgr"] if has_ec2 else [])
    nodes += ["lambda"] if has_lambda else []
    faults = []
    for kind in draw(
        st.lists(
            st.sampled_from(["enactor_delay", "planner_churn", "router_down", "kill_node", "slow_node", "load_spike"]),
            max_size=3,
        )
    ):
        fault: dict[str, Any] = {"kind": kind, "at": draw(seconds(0, duration))}
        if kind == "enactor_delay":
            fault |= {
                "enactor": draw(st.sampled_from("ABC")),
                "delay": draw(seconds(0, 6)),
                "duration": draw(seconds(0.25, 20)),
            }
        elif kind == "planner_churn":
            fault |= {"plan_interval": draw(seconds(0.25, 2)), "duration": draw(seconds(0.25, 20))}
        elif kind == "router_down":
            fault |= {"router": draw(st.integers(1, routers)), "duration": draw(seconds(0.25, 20))}
        elif kind == "kill_node":
            fault |= {"node": draw(st.sampled_from(nodes))}
            if draw(st.booleans()):
                fault["duration"] = draw(seconds(0.25, 20))
        elif kind == "slow_node":
            fault |= {
                "node": draw(st.sampled_from(nodes)),
                "factor": draw(seconds(0.25, 50)),
                "duration": draw(seconds(0.25, 20)),
            }
        else:
            if not has_load:
                continue
            fault |= {"factor": draw(seconds(0.25, 5)), "duration": draw(seconds(0.25, 20))}
        faults.append(fault)
    if faults:
        data["faults"] = faults
    operators = []
    kinds_here = ["restore_dns", "disable_nlb_failover"]
    kinds_here += ["throttle_dwfm", "restart_dwfm", "relax_throttles"] if has_ec2 else []
    kinds_here += ["restart_poller"] if has_lambda else []
    for kind in draw(st.lists(st.sampled_from(kinds_here), max_size=2)):
        action: dict[str, Any] = {"kind": kind}
        if draw(st.booleans()):
            action["at"] = draw(seconds(0, duration))
        else:
            action |= {"after": draw(st.sampled_from(ANCHORS)), "delay": draw(seconds(0, 10))}
        condition = draw(st.sampled_from(CONDITIONS))
        needs_ec2 = condition in ("dwfm_stalled", "dwfm_throttled")
        if condition is not None and (has_ec2 or not needs_ec2) and (has_lambda or condition != "poller_stuck"):
            action["when"] = condition
        if kind == "throttle_dwfm":
            action["rate"] = draw(seconds(0.25, 20))
        operators.append(action)
    if operators:
        data["operator"] = operators
    return data


def combination(data: dict[str, Any]) -> tuple[Any, ...]:
    """Which sections and kinds a generated scenario combines: what the runs' variety is counted by."""
    services = data.get("services", [])
    return (
        tuple(k for k in ("ec2", "lambda", "load") if k in data),
        len(services),
        any("nlb" in s for s in services),
        any(s["protocol"] == "sts" for s in services),
        tuple(sorted({f["kind"] for f in data.get("faults", [])})),
        tuple(sorted({a["kind"] for a in data.get("operator", [])})),
        data["policy"],
    )
