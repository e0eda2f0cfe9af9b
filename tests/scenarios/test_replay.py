"""The replay's blast radius, as a live run plays it (`for_live`: 331 s), in virtual time."""

from __future__ import annotations

from pathlib import Path

from scenarios.config.schema import for_live
from scenarios.run.execute import RunOptions, execute
from services.event_kinds import EventKind, OperatorKind
from tests.helpers import event_records, read_json, shipped


def test_the_replay_compressed_shows_sts_connect_and_redshift_in_the_order_of_the_table(tmp_path: Path) -> None:
    """STS and Connect err with DynamoDB, then again from DWFM's fix (the NLB's flapping) to the operators'
    disable; Redshift's queries err with DynamoDB and its cluster changes while launches fail; nothing raised."""
    result = execute(for_live(shipped("aws-2025-10-19")), tmp_path / "run", RunOptions(virtual=True))
    kpis = read_json(result.directory / "kpis.json")["kpis"]
    events = event_records(result.directory)
    assert not [e for e in events if e["kind"] in (EventKind.RUN_FAILED, EventKind.INTERNAL_ERROR)]
    actions = {e["action"]: e["t"] for e in events if e["kind"] == EventKind.OPERATOR_ACTION}
    repaired, fixed = actions[OperatorKind.RESTORE_DNS], actions[OperatorKind.RESTART_DWFM]
    disabled = actions[OperatorKind.DISABLE_NLB_FAILOVER]
    empty = next(e["t"] for e in events if e["kind"] == EventKind.RECORD_EMPTIED)
    for kind in ("sts", "connect"):
        (dynamodb_period, nlb_period) = kpis["error_windows"][kind]
        assert empty - 10 < dynamodb_period[0] < empty + 15 and repaired - 10 < dynamodb_period[1] < repaired + 10
        assert fixed < nlb_period[0] < fixed + 60 and disabled - 40 < nlb_period[1] <= disabled + 5
    operations = kpis["operation_error_windows"]
    ((modify_from, modify_to),) = operations["redshift ModifyCluster"]
    failing = next(e["t"] for e in events if e["kind"] == EventKind.LAUNCHES_FAILING)
    recovered = next(e["t"] for e in events if e["kind"] == EventKind.LAUNCHES_RECOVERED)
    assert abs(modify_from - failing) < 5 and abs(modify_to - recovered) < 5
    assert operations["redshift Query"][0][1] < repaired + 10
