"""What the operator's console does, in virtual time: a button is the scripted path (the same events, at the same
times, saying who), and response.toml puts each action at its time in the scenario as written."""

from __future__ import annotations

from typing import Any

from scenarios.config.cloud_settings import cloud_settings
from scenarios.config.schema import KillNode, RestoreDns, Scenario, ThrottleDwfm, for_live
from scenarios.run.faults import start_now
from scenarios.run.operator_console import OperatorConsole, Taken, controls
from scenarios.run.runner import run_scenario
from services import runtime
from services.event_kinds import FaultKind, OperatorKind
from services.events import Event, EventLog
from services.net.virtual_network import VirtualNetwork
from services.runtime.kernel import run_in_virtual_time
from services.topology.cloud import Cloud
from tests.helpers import changed, shipped

KILL = KillNode(kind=FaultKind.KILL_NODE, at=10, node="router-2", duration=5)
RESTORE = RestoreDns(kind=OperatorKind.RESTORE_DNS, at=12)


def _events(scenario: Scenario, pressed: list[tuple[float, Any]]) -> list[Event]:
    """The run's events, with each (at, item) of `pressed` taken at `at` as the console takes it."""

    async def main() -> list[Event]:
        events = EventLog(runtime.current_time)

        async def press(cloud: Cloud) -> None:
            async with runtime.create_task_group() as tg:
                for at, item in pressed:
                    await runtime.sleep(max(0.0, at - events.now()))
                    ending = start_now(item, cloud, "console")
                    if ending is not None:
                        tg.start_soon(ending)

        await run_scenario(scenario, VirtualNetwork(0.0005), events, duration=20, clients=press)
        return events.events

    return run_in_virtual_time(main)


def _seen(events: list[Event]) -> list[tuple[float, str, str, str]]:
    wanted = {"fault_start", "fault_end", "node_killed", "node_revived", "operator_action"}
    return [(round(e.t, 6), e.kind, e.source, e.message) for e in events if e.kind in wanted]


def test_a_button_is_taken_as_the_scripted_action_is() -> None:
    """A kill (with its window) and a DNS restore pressed at 10 s and 12 s: the same events, times and messages as
    the same two in the scenario file, and each of them says `by = console`."""
    base = changed(shipped("dns-race"), faults=(), operator=())
    scripted = _events(changed(base, faults=(KILL,), operator=(RESTORE,)), [])
    pressed = _events(base, [(10, KILL), (12, RESTORE)])
    assert _seen(pressed) == _seen(scripted)
    assert len(_seen(pressed)) == 5
    by = {e.data.get("by") for e in pressed if e.kind in {"fault_start", "fault_end", "node_killed", "operator_action"}}
    assert by == {"console"}
    assert all("by" not in e.data for e in scripted)


def test_the_response_keeps_each_action_at_its_time_in_the_scenario_as_written() -> None:
    """Live compression undone: with live_compression = 10 from 20 s, an action at live 30 s is at 120 s; before
    20 s, as taken. A kill revived from the console gets its window; the scenario's own operator actions are gone."""
    written = changed(shipped("cascade-live"), live_compression=10.0, live_from=20.0, duration=600)
    console = OperatorConsole(changed(for_live(written), operator=()), written)
    throttle = ThrottleDwfm(kind=OperatorKind.THROTTLE_DWFM, at=0, rate=10)
    kill = KillNode(kind=FaultKind.KILL_NODE, at=0, node="ec2-api")
    console.taken = [Taken(15.0, RESTORE), Taken(30.0, throttle), Taken(25.0, kill, ended=27.0)]
    response = console.response()
    assert [(a.kind, a.at) for a in response.operator] == [("restore_dns", 15.0), ("throttle_dwfm", 120.0)]
    added = response.faults[len(written.faults) :]
    assert [(f.kind, f.at, f.duration) for f in added] == [("kill_node", 70.0, 20.0)]
    assert response.faults[: len(written.faults)] == written.faults


def test_the_panel_offers_what_this_cloud_has() -> None:
    """dns-race has no EC2, Lambda or NLB: no button for them; cascade-live has every operator action but the NLBs'."""

    async def main() -> tuple[list[str], list[str]]:
        ids = []
        for name in ("dns-race", "cascade-live"):
            scenario = shipped(name)
            events = EventLog(runtime.current_time)
            # Not started: the panel reads only what the cloud is made of.
            cloud = Cloud(cloud_settings(scenario, live=False), VirtualNetwork(0.0005), events)
            ids.append([c.id for c in controls(scenario, cloud)])
        return ids[0], ids[1]

    race, cascade = run_in_virtual_time(main)
    assert race == ["race", "restore_dns"] + [f"{v}:router-{k}" for k in (1, 2, 3) for v in ("kill", "revive")]
    wanted = {"throttle_dwfm", "restart_dwfm", "relax_throttles", "restart_poller", "kill:ec2-api", "kill:lambda"}
    assert wanted <= set(cascade)
    assert "disable_nlb_failover" not in cascade
    assert {"users:2", "users:0.5"} <= set(cascade)  # it has a [load] section; dns-race has none
