"""One vocabulary: the events a run logs are EventKinds, the lists that read kinds hold members (not look-alike
strings), and timeseries.csv has exactly the columns reports/columns.py names."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from loadgen.behaviour import OUTCOME_CLASSES
from reports import columns
from reports.charts import OUTCOMES
from reports.kpis import HARMLESS
from reports.render import NOTABLE
from reports.timeline import OBSERVED
from scenarios.config.schema import Fault, OperatorAction
from scenarios.run.console import STYLES, VERBOSE_ONLY
from scenarios.run.execute import RunOptions, execute
from scenarios.run.progress import PHASES
from services.event_kinds import CONTROL_PLANE_STEPS, EventKind, FaultKind, OperatorKind
from services.node.capacity import COUNTERS
from tests.helpers import changed, run_virtual, shipped


def test_every_event_of_a_cascade_is_an_event_kind() -> None:
    """cascade-live in virtual time (the race, DWFM's collapse, Lambda, the operators): every event's kind is an
    EventKind member, every fault_start and fault_end names a FaultKind member and every operator action an
    OperatorKind member."""
    events = run_virtual(shipped("cascade-live")).events.events
    assert [e.kind for e in events if type(e.kind) is not EventKind] == []
    faults = [e for e in events if e.kind in (EventKind.FAULT_START, EventKind.FAULT_END)]
    assert faults and [e.data["fault"] for e in faults if type(e.data["fault"]) is not FaultKind] == []
    actions = [e.data["action"] for e in events if e.kind == EventKind.OPERATOR_ACTION]
    assert actions and [a for a in actions if type(a) is not OperatorKind] == []


def test_the_lists_that_read_kinds_hold_only_members() -> None:
    """The report's, the timeline's, the progress bar's and the terminal's kinds, the control-plane steps kept out of
    memory and the KPIs' harmless faults are members; the schema's faults and operator actions are exactly the
    FaultKinds and the OperatorKinds."""
    lists = {
        "NOTABLE": NOTABLE,
        "OBSERVED": OBSERVED,
        "PHASES": PHASES,
        "STYLES": STYLES,
        "VERBOSE_ONLY": VERBOSE_ONLY,
        "CONTROL_PLANE_STEPS": CONTROL_PLANE_STEPS,
    }
    for name, kinds in lists.items():
        assert [k for k in kinds if type(k) is not EventKind] == [], name
    assert [k for k in HARMLESS if type(k) is not FaultKind] == []
    for annotated, members in ((Fault, FaultKind), (OperatorAction, OperatorKind)):
        union, _ = get_args(annotated)
        schema = [kind for model in get_args(union) for kind in get_args(model.model_fields["kind"].annotation)]
        assert sorted(schema) == sorted(members) and all(type(kind) is members for kind in schema)


def test_every_time_series_column_is_one_reports_columns_names(tmp_path: Path) -> None:
    """A run with DNS, DynamoDB, EC2, Lambda, a declared STS and three kinds of clients writes exactly the columns
    that reports/columns.py forms, and the charts colour every outcome class the clients count."""
    scenario = changed(shipped("cascade-live"), duration=20)
    result = execute(scenario, tmp_path / "run", RunOptions(virtual=True))
    header = (result.directory / "timeseries.csv").read_text().splitlines()[0].split(",")
    nodes = (columns.DYNAMODB, columns.EC2_API, columns.DWFM, columns.NETMGR, columns.LAMBDA, "sts")
    measures = (*COUNTERS, columns.QUEUE, columns.IN_FLIGHT, columns.P50_MS, columns.P99_MS)
    kinds = columns.client_kinds(header)
    named = {columns.SECOND, *columns.DNS_ADDRESSES, columns.DWFM_LEASES, columns.LAMBDA_POLLER_BACKLOG}
    named |= {columns.node_column(node, measure) for node in nodes for measure in measures}
    named |= {columns.operation_column("sts", "AssumeRole", outcome) for outcome in ("ok", "failed")}
    named |= {columns.clients(measure) for measure in (columns.LOGICAL, columns.ATTEMPTS, *OUTCOME_CLASSES)}
    named |= {columns.clients_of(kind, measure) for kind in kinds for measure in (columns.LOGICAL, columns.OK)}
    assert kinds == ["dynamodb", "ec2", "lambda"]
    assert len(header) == len(set(header)) and set(header) == named
    assert list(OUTCOMES) == list(OUTCOME_CLASSES)
