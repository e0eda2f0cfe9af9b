"""kill_node on the EC2 API and on Lambda: while a node is down its clients cannot connect, the events say so, and
it comes back when the fault ends; the same in virtual time and live (Locust's users, real sockets)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from loadgen.behaviour import SecondOutcomes
from scenarios.config.schema import KillNode, LoadStage, Scenario
from services.event_kinds import EventKind, FaultKind
from tests.helpers import (
    CLI,
    changed,
    event_records,
    locust_processes,
    on_free_ports,
    run_virtual,
    scenario_file,
    shipped,
)

EC2_DOWN = (10.0, 18.0)
LAMBDA_DOWN = (22.0, 30.0)


def outage() -> Scenario:
    """cascade-live without its DNS fault: 20 EC2 and Lambda users, the EC2 API killed at 10 s for 8 s and
    Lambda at 22 s for 8 s."""
    return changed(
        shipped("cascade-live"),
        name="kill-nodes",
        duration=36.0,
        ec2={"droplets": 20},
        faults=(
            KillNode(kind=FaultKind.KILL_NODE, node="ec2-api", at=EC2_DOWN[0], duration=EC2_DOWN[1] - EC2_DOWN[0]),
            KillNode(
                kind=FaultKind.KILL_NODE, node="lambda", at=LAMBDA_DOWN[0], duration=LAMBDA_DOWN[1] - LAMBDA_DOWN[0]
            ),
        ),
        operator=(),
        load={"mix": {"ec2": 1, "lambda": 1}, "stages": (LoadStage(until=36, users=20),)},
    )


def check(outcomes: SecondOutcomes, events: list[tuple[float, str, str]]) -> None:
    """The node's users fail to connect while it is down and succeed around it; the events bracket the outage."""
    for user, node, (down, up) in (("ec2", "ec2-api", EC2_DOWN), ("lambda", "lambda", LAMBDA_DOWN)):
        killed = [t for t, kind, source in events if kind == EventKind.NODE_KILLED and source == node]
        revived = [t for t, kind, source in events if kind == EventKind.NODE_REVIVED and source == node]
        assert len(killed) == 1 and abs(killed[0] - down) < 1.0, (node, killed)
        assert len(revived) == 1 and abs(revived[0] - up) < 1.0, (node, revived)
        during = outcomes.totals(user, range(int(down) + 1, int(up) - 1))
        after = outcomes.totals(user, range(int(up) + 2, int(up) + 6))
        before = outcomes.totals(user, range(int(down) - 4, int(down)))
        assert during["logical"] > 0 and during["unreachable"] >= 0.9 * during["logical"], (user, during)
        assert before["ok"] >= 0.9 * before["logical"] > 0, (user, before)
        assert after["ok"] >= 0.9 * after["logical"] > 0, (user, after)


def test_killed_nodes_refuse_their_users_and_come_back_in_virtual_time() -> None:
    """Virtual time: EC2 and Lambda users see `unreachable` while their node is killed, `ok` before and after."""
    run = run_virtual(outage())
    assert run.users is not None
    check(run.users.outcomes, [(e.t, e.kind, e.source) for e in run.events.events])


@pytest.mark.live
def test_killed_nodes_refuse_their_users_and_come_back_live(tmp_path: Path) -> None:
    """Live: Locust's EC2 and Lambda users see `unreachable` while their node is killed, `ok` before and after."""
    out = tmp_path / "run"
    command = [str(CLI), "serve", str(scenario_file(on_free_ports(outage()), tmp_path)), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    texts = [f.read_text() for f in sorted((out / "locust").glob("outcomes-*.csv"))]
    assert texts, "Locust wrote no outcomes"
    check(SecondOutcomes.from_csv(*texts), [(e["t"], e["kind"], e["source"]) for e in event_records(out)])
    assert locust_processes(tmp_path) == []
