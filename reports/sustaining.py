"""The sustaining effect: what kept a system down after its trigger ended, named and measured from the run's rows.

Huang et al. (OSDI'22) name the loops that sustain metastable failures: retries that multiply the load, work done
for callers who have already given up (wasted) or left to expire in a queue, and caches or names that were lost.
Over the seconds the verdict looked at (reports/verdict.py: for a stuck run, the last half of its horizon; for a
recovered one, from the trigger's end to the start of the recovery), this measures each:

    retry_share       the clients' attempts that were retries: 1 - logical requests / attempts
    wasted_share      work the servers completed after its caller's deadline (DynamoDB's routers and DWFM)
    expired_share     work that expired in a queue before it was served, of the work completed or expired
    load_over_base    DynamoDB's arrivals over their mean before the fault (the herd)
    queue_start, queue_end, queue_mean   DynamoDB's routers' queues (summed) at the window's ends and on average
    dwfm_queue_end    DWFM's lease work waiting, at the window's end (runs with EC2)
    dns_failed_share  the clients' logical requests that failed on DNS (a name lost, or its cache emptied)

and names the loop that the figures point to (LOOPS), or none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.columns import (
    CLIENTS_ATTEMPTS,
    CLIENTS_LOGICAL,
    DWFM_COMPLETED,
    DWFM_EXPIRED,
    DWFM_QUEUE,
    DWFM_WASTED,
    DYNAMODB,
    DYNAMODB_ARRIVALS,
    DYNAMODB_COMPLETED,
    DYNAMODB_WASTED,
    QUEUE,
    SECOND,
    clients,
    node_column,
)

Row = Mapping[str, float | int]

LOOP_SHARE = 0.2  # a fifth of the work or of the attempts: enough to hold a system at its edge down
DYNAMODB_EXPIRED = node_column(DYNAMODB, "expired")
DYNAMODB_QUEUE = node_column(DYNAMODB, QUEUE)
CLIENTS_DNS = clients("dns")

LOOPS = {
    "retry storm": "retries multiplied the load and the servers spent it on requests already given up",
    "retries": "retries multiplied the load",
    "wasted work": "the servers spent their time on requests whose callers had already given up",
    "expired work": "work expired in the queues before it was served, and was asked for again",
    "lost names": "requests failed on DNS: the name or its cached answer was gone",
}


def measure(rows: Sequence[Row], start: float, end: float, arrivals_baseline: float) -> dict[str, Any]:
    """The figures over the rows of seconds in (start, end], the loop they point to, and a sentence."""
    window = [r for r in rows if start < r[SECOND] <= end]
    if not window:
        return {}
    total = _totals(window)
    attempts, logical = total(CLIENTS_ATTEMPTS), total(CLIENTS_LOGICAL)
    completed = total(DYNAMODB_COMPLETED) + total(DWFM_COMPLETED)
    expired = total(DYNAMODB_EXPIRED) + total(DWFM_EXPIRED)
    queues = [float(r.get(DYNAMODB_QUEUE, 0)) for r in window]
    figures: dict[str, Any] = {
        "window": [round(start, 3), round(end, 3)],
        "retry_share": _share(attempts - logical, attempts),
        "wasted_share": _share(total(DYNAMODB_WASTED) + total(DWFM_WASTED), completed),
        "expired_share": _share(expired, completed + expired),
        "load_over_base": _share(total(DYNAMODB_ARRIVALS) / len(window), arrivals_baseline),
        "queue_start": queues[0],
        "queue_end": queues[-1],
        "queue_mean": round(sum(queues) / len(queues), 1),
        "dwfm_queue_end": float(window[-1][DWFM_QUEUE]) if DWFM_QUEUE in window[-1] else None,
        "dns_failed_share": _share(total(CLIENTS_DNS), logical),
    }
    figures["loop"] = _loop(figures)
    figures["explanation"] = explain(figures)
    return figures


def _loop(f: Mapping[str, Any]) -> str | None:
    retries, wasted = f["retry_share"] or 0, f["wasted_share"] or 0
    if retries >= LOOP_SHARE and wasted >= LOOP_SHARE:
        return "retry storm"
    if wasted >= LOOP_SHARE:
        return "wasted work"
    if (f["expired_share"] or 0) >= LOOP_SHARE:
        return "expired work"
    if retries >= LOOP_SHARE:
        return "retries"
    if (f["dns_failed_share"] or 0) >= LOOP_SHARE:
        return "lost names"
    return None


def explain(f: Mapping[str, Any]) -> str:
    """The figures in a sentence: which loop, with the numbers behind it."""
    parts = []
    if f.get("retry_share") is not None:
        parts.append(f"retries were {_pct(f['retry_share'])} of the attempts")
    if f.get("wasted_share") is not None:
        parts.append(f"{_pct(f['wasted_share'])} of the work done was wasted (its caller had given up)")
    if f.get("expired_share"):
        parts.append(f"{_pct(f['expired_share'])} expired in a queue")
    if f.get("dns_failed_share"):
        parts.append(f"{_pct(f['dns_failed_share'])} of the requests failed on DNS")
    queue = f"DynamoDB's queues held {f['queue_mean']:.0f} on average ({f['queue_start']:.0f} → {f['queue_end']:.0f})"
    figures = "; ".join(parts)
    window = f"{f['window'][0]:.0f}–{f['window'][1]:.0f} s"
    loop = f.get("loop")
    if loop is None:
        return f"no load-driven loop was measured ({window}: {figures}; {queue})."
    return f"{loop}: {LOOPS[loop]} ({window}: {figures}; {queue})."


def _totals(window: Sequence[Row]) -> Any:
    def total(key: str) -> float:
        return float(sum(r.get(key, 0) for r in window))

    return total


def _share(top: float, bottom: float) -> float | None:
    return None if bottom <= 0 else round(top / bottom, 3)


def _pct(share: float) -> str:
    return f"{share * 100:.0f} %"
