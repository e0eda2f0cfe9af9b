"""Samples a running cloud once a simulated second: the rows of a run's timeseries.csv.

Every capacity model (the DynamoDB routers, summed; the EC2 API; DWFM's lease work queue; the Network Manager;
Lambda's sandboxes) gives its counters for the second just ended (arrivals, admitted, rejected, completed, expired,
wasted, dropped, shed), its queue depth and work in flight, and its latency p50 and p99 in milliseconds over the
second just closed (the worst node's, where there are several). DNS
gives how many addresses each DynamoDB name has, DWFM how many leases it holds, Lambda's poller its backlog. The
clients' per-second outcomes (Locust's or the virtual users') are joined in after the run by `with_clients`.
Each declared service gives its answers per operation (ok, or failed), its NLB's targets summed. In a live run
the sampler's own tick measures this process's event-loop lag and CPU (loadgen/load_gauge.py); Locust's processes'
are joined in after the run by `with_harness`.
With `outside`, each node's calls from outside the cloud (the user's program: services/net/outside.py) are counted by
outcome too, and that program's lookups of the cloud's names are joined in after the run by `with_lookups`.
The columns are named in reports/columns.py, which the reports read them by.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from loadgen.behaviour import OUTCOME_CLASSES, SecondOutcomes
from loadgen.load_gauge import LoadGauge
from reports.columns import (
    APP_CALL_OUTCOMES,
    APP_NODES,
    ATTEMPTS,
    DNS_FIPS_ADDRESSES,
    DNS_IPV6_ADDRESSES,
    DNS_REGIONAL_ADDRESSES,
    DWFM,
    DWFM_LEASES,
    DYNAMODB,
    EC2_API,
    HARNESS_CLOUD_CPU,
    HARNESS_CLOUD_LAG_MS,
    HARNESS_CLOUD_TASKS,
    HARNESS_LOCUST_CPU,
    HARNESS_LOCUST_LAG_MS,
    IN_FLIGHT,
    LAMBDA,
    LAMBDA_POLLER_BACKLOG,
    LOGICAL,
    LOOKUP_OUTCOMES,
    NETMGR,
    OK,
    P50_MS,
    P99_MS,
    QUEUE,
    SECOND,
    app_calls,
    app_lookups,
    clients,
    clients_of,
    node_column,
    operation_column,
)
from services import runtime
from services.dns import FIPS, IPV6, REGIONAL
from services.events import EventLog
from services.node.capacity import COUNTERS, CapacityModel
from services.topology.cloud import Cloud

Row = dict[str, float | int]
DNS_COLUMNS = {REGIONAL: DNS_REGIONAL_ADDRESSES, IPV6: DNS_IPV6_ADDRESSES, FIPS: DNS_FIPS_ADDRESSES}


class Sampler:
    """Keeps one row per simulated second of the run."""

    def __init__(
        self,
        cloud: Cloud,
        events: EventLog,
        *,
        listener: Callable[[Row], None] | None = None,
        outside: bool = False,
        gauge: LoadGauge | None = None,
        spill: Path | None = None,
    ) -> None:
        self.cloud = cloud
        self.gauge = gauge  # live runs: this process's lag and CPU each second (virtual runs have none)
        self.outside = outside
        self._outside_before: dict[str, int] = {}
        self._operations_before: dict[str, int] = {}  # a declared service's answers per operation, so far
        self.events = events
        self.listener = listener
        # A live run can last hours: its rows go to `spill` (a JSON line each, which keeps ints and floats apart)
        # as they are taken, not into memory, where they were most of a long run's growth; `rows` reads them back.
        self._spill = spill.open("w", encoding="utf-8") if spill is not None else None
        self._spill_path = spill
        self._rows: list[Row] = []
        self._last_second = 0
        self._last: dict[str, tuple[list[int], dict[str, int]]] = {}

    async def run(self) -> None:
        """Sample at every whole second of the run's clock until cancelled (a second that has just ended when
        the run stops still gets its row)."""
        try:
            while True:
                second = int(self.events.now()) + 1
                delay = max(0.0, second - self.events.now())
                if self.gauge is not None:
                    self.gauge.expect(delay)
                await runtime.sleep(delay)
                # Read as the timer fires, before this second's own sampling adds to the lag.
                self._add(second, None if self.gauge is None else self.gauge.read())
        finally:
            if self.gauge is not None:
                self.gauge.stopped()  # woken by the run's end, not by the timer
            last = self._last_second
            now = self.events.now()
            # A second that has just ended gets its row; so does the part of one that a guest ended (the user's
            # program under `cascadesim exec` may exit at any moment, and what it did then counts).
            if int(now + 1e-6) > last or (self.outside and now > last + 1e-3):
                self._add(last + 1)
            if self._spill is not None:
                self._spill.close()

    def _add(self, second: int, load: tuple[float, float] | None = None) -> None:
        row = self.sample(second, load)
        self._last_second = second
        if self._spill is not None:
            self._spill.write(json.dumps(row) + "\n")
            self._spill.flush()
        else:
            self._rows.append(row)
        if self.listener is not None:
            self.listener(row)

    @property
    def rows(self) -> list[Row]:
        """Every row taken so far (read back from the spill file of a live run)."""
        if self._spill_path is None:
            return self._rows
        if self._spill is not None and not self._spill.closed:
            self._spill.flush()
        with self._spill_path.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def forget(self) -> None:
        """Let go of the rows (the run's files are written): the memory, and the spill file."""
        self._rows = []
        if self._spill_path is not None:
            if self._spill is not None:
                self._spill.close()
            self._spill_path.unlink(missing_ok=True)

    def _nodes(self) -> Iterator[tuple[str, list[CapacityModel]]]:
        cloud = self.cloud
        yield DYNAMODB, [router.capacity for router in cloud.routers]
        if cloud.ec2 is not None:
            yield EC2_API, [cloud.ec2.api.capacity]
            yield DWFM, [cloud.ec2.dwfm.capacity]
            yield NETMGR, [cloud.ec2.netmgr.capacity]
        if cloud.lambda_ is not None:
            yield LAMBDA, [cloud.lambda_.function.capacity]
        by_name: dict[str, list[CapacityModel]] = {d.name: [] for d in cloud.settings.services}  # every row alike
        for service in cloud.declared:  # the user's own, by name; an NLB's targets summed, as the routers are
            by_name.setdefault(service.name, []).append(service.capacity)
        yield from by_name.items()

    def sample(self, second: int, load: tuple[float, float] | None = None) -> Row:
        """The row for the second that ends now (counters are per second, levels are as of now); `load` is this
        process's lag and CPU if already read."""
        row: Row = {SECOND: second}
        for name, column in DNS_COLUMNS.items():
            record = self.cloud.dns.zone.get(name)
            row[column] = 0 if record is None else len(record.addresses)
        for prefix, models in self._nodes():
            identity = [id(m) for m in models]  # a restart (DWFM's) replaces the model and its totals
            totals = {c: sum(m.stats.totals[c] for m in models) for c in COUNTERS}
            known, before = self._last.get(prefix, (identity, dict.fromkeys(COUNTERS, 0)))
            if known != identity:
                before = dict.fromkeys(COUNTERS, 0)
            self._last[prefix] = (identity, totals)
            for counter in COUNTERS:
                row[node_column(prefix, counter)] = totals[counter] - before[counter]
            row[node_column(prefix, QUEUE)] = sum(m.stats.queue_depth for m in models)
            row[node_column(prefix, IN_FLIGHT)] = sum(m.stats.in_flight for m in models)
            latest = [closed for m in models if (closed := m.stats.latest()) is not None]
            row[node_column(prefix, P50_MS)] = max((_ms(closed.latency_p50) for closed in latest), default=0.0)
            row[node_column(prefix, P99_MS)] = max((_ms(closed.latency_p99) for closed in latest), default=0.0)
        if self.cloud.ec2 is not None:
            row[DWFM_LEASES] = self.cloud.ec2.dwfm.held(now=runtime.current_time())
        if self.cloud.lambda_ is not None:
            row[LAMBDA_POLLER_BACKLOG] = len(self.cloud.lambda_.poller.queue)
        self._sample_operations(row)
        if self.gauge is not None:
            row[HARNESS_CLOUD_LAG_MS], row[HARNESS_CLOUD_CPU] = self.gauge.read() if load is None else load
            row[HARNESS_CLOUD_TASKS] = _tasks()
        if self.outside:
            self._sample_outside(row)
        return row

    def _sample_operations(self, row: Row) -> None:
        """Each declared service's answers per operation (an NLB's targets summed), ok and failed."""
        totals: dict[str, int] = {}
        for settings in self.cloud.settings.services:  # every row alike, whatever is up
            for operation in settings.operations:
                for outcome in ("ok", "failed"):
                    totals[operation_column(settings.name, operation, outcome)] = 0
        for service in self.cloud.declared:
            for operation, answers in service.answers.items():
                for k, outcome in enumerate(("ok", "failed")):
                    totals[operation_column(service.name, operation, outcome)] += answers[k]
        for column, total in totals.items():
            row[column] = total - self._operations_before.get(column, 0)
            self._operations_before[column] = total

    def _sample_outside(self, row: Row) -> None:
        counters = self.cloud.outside_calls()
        for service, calls in counters.items():
            node = APP_NODES.get(service, service)
            for outcome in APP_CALL_OUTCOMES:
                column = app_calls(node, outcome)
                total = sum(c.totals[outcome] for c in calls)
                row[column] = total - self._outside_before.get(column, 0)
                self._outside_before[column] = total


def _tasks() -> int:
    """How many tasks the live run's event loop holds (asyncio's; 0 under another loop)."""
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:
        return 0


def _ms(seconds: float | None) -> float:
    return 0.0 if seconds is None else round(seconds * 1000, 3)


CLIENT_COLUMNS = (LOGICAL, ATTEMPTS, *OUTCOME_CLASSES)


def with_clients(rows: list[Row], outcomes: SecondOutcomes | None) -> list[Row]:
    """The rows, with the clients' outcomes of each second joined into them (all kinds summed, plus ok and logical
    per kind); seconds with no client columns get zeros, so every row has the same columns."""
    if outcomes is None:
        return rows
    kinds = sorted({user for _, user in outcomes.rows})
    for row in rows:
        second = int(row[SECOND]) - 1  # the row for second N covers [N-1, N)
        extra: Row = dict.fromkeys((clients(c) for c in CLIENT_COLUMNS), 0)
        for kind in kinds:
            counts = outcomes.rows.get((second, kind))
            extra[clients_of(kind, LOGICAL)] = counts[LOGICAL] if counts else 0
            extra[clients_of(kind, OK)] = counts[OK] if counts else 0
            for column in CLIENT_COLUMNS:
                extra[clients(column)] = int(extra[clients(column)]) + (counts[column] if counts else 0)
        row.update(extra)  # in place: a 14-hour run's rows are worth not copying
    return rows


def with_lookups(rows: list[Row], lookups: dict[tuple[int, str], int]) -> list[Row]:
    """The rows, with the program's lookups of each second (by (second, outcome), seconds counted from 0) joined
    in."""
    for row in rows:
        second = int(row[SECOND]) - 1
        row.update({app_lookups(o): lookups.get((second, o), 0) for o in LOOKUP_OUTCOMES})
    return rows


def with_harness(rows: list[Row], locust: dict[int, tuple[float, float]]) -> list[Row]:
    """The rows, with the worst Locust process's lag and CPU of each second joined in (zeros in seconds Locust did
    not measure), so that every row of a live run with Locust has them."""
    if not locust:
        return rows
    for row in rows:
        lag, cpu = locust.get(int(row[SECOND]), (0.0, 0.0))
        row[HARNESS_LOCUST_LAG_MS], row[HARNESS_LOCUST_CPU] = lag, cpu
    return rows


def read_harness(*texts: str) -> dict[int, tuple[float, float]]:
    """The Locust processes' `second,lag_ms,cpu` lines (loadgen/locustfile.py), the worst of each second."""
    worst: dict[int, tuple[float, float]] = {}
    for text in texts:
        for line in text.splitlines()[1:]:
            try:
                second, lag, cpu = (float(part) for part in line.split(","))
            except ValueError:
                continue  # a line cut short by the process's end
            before = worst.get(int(second), (0.0, 0.0))
            worst[int(second)] = (max(before[0], lag), max(before[1], cpu))
    return worst


def read_lookups(*texts: str) -> dict[tuple[int, str], int]:
    """The lookups logged by the program's processes (`second,name,outcome` lines), counted per second and outcome
    (a line cut short by the program's end is skipped)."""
    counts: dict[tuple[int, str], int] = {}
    for text in texts:
        for line in text.splitlines():
            parts = line.split(",")
            if len(parts) != 3 or parts[2] not in LOOKUP_OUTCOMES:
                continue
            try:
                second = int(float(parts[0]))
            except ValueError:
                continue
            counts[(second, parts[2])] = counts.get((second, parts[2]), 0) + 1
    return counts


def write_csv(rows: Sequence[Row], path: Path) -> None:
    """The rows as timeseries.csv, written as they go (a replay's CSV, built in memory first, took hundreds of MB)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        if not rows:
            out.write(SECOND + "\n")
            return
        # Every row's columns, in the order they first appear: a node that starts late (an NLB's targets, launched
        # through EC2) adds its columns from then on, and the earlier rows count 0 there.
        fields: dict[str, None] = {}
        for row in rows:
            fields.update(dict.fromkeys(row))
        writer = csv.DictWriter(out, fieldnames=list(fields), restval=0, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
