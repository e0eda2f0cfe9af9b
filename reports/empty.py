"""Why a KPI is empty, in words: "no fault", "not recovered by the end", "not confirmed: the run ended 12 s after
recovery began". kpis.json keeps them under `why_empty`; the terminal's table and the report show them in place of
a bare dash."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.verdict import FAULT_TO_END, NO_FAULT, NO_GOODPUT, STUCK, UNDECIDED, Decision


def why_empty(
    kpis: Mapping[str, Any],
    decision: Decision,
    *,
    end: int,
    kinds: Sequence[str],
    droplets: int | None,
    live: bool,
    operations: bool,
) -> dict[str, str]:
    """For every KPI of `kpis` that is None, the reason."""
    recovery = _recovery(decision, end)
    reasons = {
        "decided_at_s": recovery,
        "pushed_back": "not stuck" if decision.state != STUCK else "it did not come back within the run",
        "sustaining_effect": recovery if decision.state != UNDECIDED else "nothing to measure",
        "trigger_start": "no fault",
        "trigger_end": "no fault" if decision.state == NO_FAULT else "the fault lasted to the end of the run",
        "time_to_recover_s": recovery,
        "metastable": recovery,
        "peak_dynamodb_over_baseline": "no fault" if decision.state == NO_FAULT else "no DynamoDB load before it",
        "retry_amplification": "no clients in this run",
        "retry_amplification_during_fault": "no fault" if decision.state == NO_FAULT else "no clients in this run",
        "wasted_share": "no work was completed",
        "lease_recovery_s": _leases(decision, droplets),
        "time_to_recover_by_kind": "no clients in this run" if not kinds else recovery,
        "error_windows": "no clients in this run",
        "operation_error_windows": "no declared services in this run" if not operations else "none",
        "saturated_seconds": "a virtual run has no machine limit" if not live else "not measured",
    }
    return {key: reasons.get(key, "the run could not say") for key, value in kpis.items() if value is None}


def _recovery(decision: Decision, end: int) -> str:
    state = decision.state
    if state == NO_FAULT:
        return "no fault"
    if state == FAULT_TO_END:
        return "the fault lasted to the end of the run"
    if state == NO_GOODPUT:
        return "no goodput before the fault to come back to"
    if state == STUCK:
        return "stuck: it did not come back"
    if state == UNDECIDED and decision.recovering_since is not None:
        return f"not confirmed: the run ended {end - decision.recovering_since + 1} s after recovery began"
    if state == UNDECIDED:
        return "not recovered by the end of the run"
    return "not applicable"


def _leases(decision: Decision, droplets: int | None) -> str:
    if droplets is None:
        return "no EC2 in this run"
    if decision.state == NO_FAULT:
        return "no fault"
    if decision.state == FAULT_TO_END:
        return "the fault lasted to the end of the run"
    return "leases not back by the end of the run"
