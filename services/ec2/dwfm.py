"""The DropletWorkflow Manager (DWFM; name from AWS's 2025-10-19/20 summary): leases on the physical hosts.

DWFM keeps a lease on every droplet, with the lease's state in a DynamoDB table, written through the internal
client with conditional updates. A droplet whose lease has expired cannot take a launch.

Lease work (renewing a held lease, or re-establishing a lost one) goes through DWFM's own bounded queue, served by
a fixed number of DWFM workers (a capacity model). Every work item has a timeout that starts when it is queued:
an item finished after its timeout is abandoned — its result is not trusted — and the droplet is queued again by
the next scan. That is the sustaining effect AWS describes: once the queue is long enough that items wait longer
than their timeout, every item is done too late, nothing is ever established, and the queue never shrinks
("congestive collapse"), although DynamoDB is healthy again.

Nothing here stops DWFM on a timer: the collapse, if any, comes from the queue's own dynamics. The operators'
actions are the AWS ones: `throttle(rate)` limits incoming work; `restart()` clears the queue.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services import runtime
from services.client.service_client import ServiceClient
from services.dynamodb.calls import call, until_done
from services.errors import CallFailed, CascadesimError
from services.event_kinds import EventKind, OperatorKind
from services.events import EventLog
from services.node.capacity import CapacityModel, CapacitySpec, DeadlineExceeded, Overloaded, ServiceTime, Shed
from services.runtime import TaskStatus
from services.throttling.admission import Admission, TokenBucketLimit
from services.throttling.disciplines import Discipline


@dataclass(frozen=True)
class DwfmSettings:
    droplets: int = 200
    workers: int = 2
    work_time: float = 0.05  # DWFM's own processing per item, on top of its DynamoDB calls
    queue_limit: int = 100_000
    lease_duration: float = 30.0
    renew_margin: float = 10.0  # renew a lease when less than this is left
    item_timeout: float = 3.0  # from queueing to done
    scan_interval: float = 1.0
    bootstrap_rate: float = 10.0  # leases established per second before the run (a fleet in steady state)
    table: str = "droplet-leases"


class LeaseWorkFailed(CascadesimError):
    """A DynamoDB call of a lease work item did not succeed."""


class DropletWorkflowManager:
    def __init__(
        self,
        settings: DwfmSettings,
        dynamodb: ServiceClient,
        events: EventLog,
        rng: random.Random,
        *,
        host: str = "dwfm-1",
        admission: Admission | None = None,
        discipline: Discipline[Any] | None = None,
        drop_expired: bool = False,
    ) -> None:
        self.settings = settings
        self.dynamodb = dynamodb
        self.events = events
        self.host = host
        self._rng = rng
        self._admission = admission
        self._discipline = discipline
        self._drop_expired = drop_expired
        self.capacity = self._new_queue()
        self.leases: dict[int, float] = {}  # droplet -> lease expiry (simulated time), as DWFM last wrote it
        self.queued: set[int] = set()
        self.intake: TokenBucketLimit | None = None
        self.counts = dict.fromkeys(("established", "renewed", "abandoned", "failed", "refused", "throttled"), 0)
        self._work: runtime.TaskGroup | None = None
        self._restart = runtime.Event()
        self.last_failure = ""
        self.on_established: Callable[[int], None] | None = None
        self.watcher = PhaseWatcher(self)

    def _new_queue(self) -> CapacityModel:
        s = self.settings
        spec = CapacitySpec(s.workers, ServiceTime("constant", s.work_time), s.queue_limit, self._drop_expired)
        return CapacityModel(spec, self._rng, admission=self._admission, discipline=self._discipline)

    def held(self, now: float | None = None) -> int:
        now = runtime.current_time() if now is None else now
        return sum(1 for expiry in self.leases.values() if expiry > now)

    async def run(self, *, task_status: TaskStatus[None] = runtime.TASK_STATUS_IGNORED) -> None:
        """Create the lease table, bring the fleet to steady state (every lease held), then run until cancelled.

        The bootstrap admits work at `bootstrap_rate`, well under DWFM's capacity, so the leases it writes expire
        spread out in time, as they would in a fleet that has been running for a while.
        """
        await self._ensure_table()
        async with runtime.create_task_group() as tg:
            tg.start_soon(self._work_forever)
            rate = self.settings.bootstrap_rate
            self.intake = TokenBucketLimit(rate=rate, burst=max(1.0, rate * self.settings.scan_interval))
            tg.start_soon(self._scan_forever)
            # Bounded: a policy that starves even the bootstrap must not stop the scenario from starting.
            with runtime.move_on_after(3 * self.settings.droplets / rate + self.settings.lease_duration):
                while self.held() < self.settings.droplets:
                    await runtime.sleep(self.settings.scan_interval)
            self.intake = None
            held = self.held()
            self.events.emit(
                EventKind.DWFM_READY, self.host, f"{held} of {self.settings.droplets} droplet leases held", held=held
            )
            tg.start_soon(self.watcher.run)
            task_status.started()

    async def _ensure_table(self) -> None:
        body = {
            "TableName": self.settings.table,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "droplet", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "droplet", "AttributeType": "S"}],
        }
        await until_done(self.dynamodb, "CreateTable", body)

    async def _work_forever(self) -> None:
        while True:
            async with runtime.create_task_group() as tg:
                self._work = tg
                await self._restart.wait()
                tg.cancel_scope.cancel()
            self._restart = runtime.Event()

    async def _scan_forever(self) -> None:
        while True:
            self.scan()
            await runtime.sleep(self.settings.scan_interval)

    def scan(self) -> None:
        """Queue lease work for every droplet whose lease is missing or due for renewal and not already queued."""
        now = runtime.current_time()
        for droplet in range(self.settings.droplets):
            if droplet in self.queued or self.leases.get(droplet, 0.0) - now >= self.settings.renew_margin:
                continue
            if self.intake is not None and not self.intake.admit(now, 0, 0):
                self.counts["throttled"] += 1
                continue
            if self._work is None:
                return
            self.queued.add(droplet)
            self._work.start_soon(self._lease_work, droplet, now + self.settings.item_timeout)

    async def _lease_work(self, droplet: int, deadline: float) -> None:
        try:
            expiry, kind = await self.capacity.serve(deadline, lambda: self._write_lease(droplet, deadline))
        except (Overloaded, Shed, DeadlineExceeded):
            self.counts["refused"] += 1
            return
        except (LeaseWorkFailed, CallFailed) as exc:
            self.counts["failed"] += 1
            self.last_failure = str(exc)
            return
        finally:
            self.queued.discard(droplet)
        if runtime.current_time() > deadline:
            self.counts["abandoned"] += 1  # done too late: not trusted, queued again by the next scan
            return
        self.leases[droplet] = expiry
        self.counts[kind] += 1
        if kind == "established" and self.on_established is not None:
            self.on_established(droplet)

    async def _write_lease(self, droplet: int, deadline: float) -> tuple[float, str]:
        """Renew with one conditional write, or re-establish with a read, a conditional write and a state write."""
        key = {"droplet": {"S": f"d-{droplet:05d}"}}
        table = self.settings.table
        now = runtime.current_time()
        expiry = now + self.settings.lease_duration
        me = {":me": {"S": self.host}, ":exp": {"N": f"{expiry:.3f}"}}
        if self.leases.get(droplet, 0.0) > now:
            await self._must(
                "UpdateItem",
                {
                    "TableName": table,
                    "Key": key,
                    "UpdateExpression": "SET expires = :exp",
                    "ConditionExpression": "holder = :me",
                    "ExpressionAttributeValues": me,
                },
                deadline,
            )
            return expiry, "renewed"
        await self._must("GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}, deadline)
        await self._must(
            "UpdateItem",
            {
                "TableName": table,
                "Key": key,
                "UpdateExpression": "SET holder = :me, expires = :exp, epoch = if_not_exists(epoch, :zero) + :one",
                "ConditionExpression": "attribute_not_exists(holder) OR holder = :me OR expires < :now",
                "ExpressionAttributeValues": {
                    **me,
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    ":now": {"N": f"{now:.3f}"},
                },
            },
            deadline,
        )
        await self._must(
            "UpdateItem",
            {
                "TableName": table,
                "Key": key,
                "UpdateExpression": "SET #s = :ready",
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {":ready": {"S": "ready"}},
            },
            deadline,
        )
        return expiry, "established"

    async def _must(self, operation: str, body: dict[str, Any], deadline: float) -> None:
        # Only a deadline-aware DWFM tells DynamoDB (and its own client) when the answer stops being useful; the
        # naive one just waits for each call and finds out at the end that the item took too long.
        response = await call(self.dynamodb, operation, body, deadline if self._drop_expired else None)
        if response.status_code != 200:
            raise LeaseWorkFailed(f"{operation}: {response.status_code} {response.text[:120]}")

    def throttle(self, rate: float) -> None:
        """Operator action: admit at most `rate` new work items per second."""
        self.intake = TokenBucketLimit(rate=rate, burst=max(1.0, rate * self.settings.scan_interval))
        self.events.emit(
            EventKind.OPERATOR_ACTION,
            "operator",
            f"throttle_dwfm: at most {rate:g} lease work items/s",
            action=OperatorKind.THROTTLE_DWFM,
            rate=rate,
        )

    def relax(self) -> None:
        """Operator action: lift the throttle on incoming work."""
        self.intake = None
        self.events.emit(
            EventKind.OPERATOR_ACTION,
            "operator",
            "relax_throttles: DWFM takes work at its own pace again",
            action=OperatorKind.RELAX_THROTTLES,
        )

    def restart(self) -> None:
        """Operator action: restart the DWFM hosts, dropping every queued and running work item."""
        dropped = len(self.queued)
        self.queued.clear()
        self.capacity = self._new_queue()
        self._restart.set()
        self.events.emit(
            EventKind.OPERATOR_ACTION,
            "operator",
            f"restart_dwfm: {dropped} queued work items dropped",
            action=OperatorKind.RESTART_DWFM,
            dropped=dropped,
        )


class PhaseWatcher:
    """Reads DWFM's counters once a second and reports the cascade's phases as they begin (observation only)."""

    def __init__(self, dwfm: DropletWorkflowManager, *, stall: float = 30.0) -> None:
        self.dwfm = dwfm
        self.stall = stall
        self.failing = False
        self.expiring = False
        self.unreachable = False
        self.stalled = False
        self._last = dict(dwfm.counts)
        self._best_held = 0
        self._best_at = 0.0
        self._failed_at = 0.0

    async def run(self) -> None:
        while True:
            await runtime.sleep(1.0)
            self.observe(runtime.current_time())

    def observe(self, now: float) -> None:
        dwfm, events = self.dwfm, self.dwfm.events
        delta = {k: v - self._last[k] for k, v in dwfm.counts.items()}
        self._last = dict(dwfm.counts)
        held, fleet = dwfm.held(now), dwfm.settings.droplets
        done = delta["established"] + delta["renewed"]
        if delta["failed"]:
            self._failed_at = now
        if delta["failed"] and not self.unreachable and "DNS" in dwfm.last_failure:
            self.unreachable = True
            events.emit(EventKind.DYNAMODB_UNREACHABLE, dwfm.host, f"DWFM cannot reach DynamoDB: {dwfm.last_failure}")
        if delta["failed"] and not done and not self.failing:
            self.failing = True
            events.emit(
                EventKind.LEASE_CHECKS_FAILING,
                dwfm.host,
                f"lease renewals failing ({delta['failed']} in the last second)",
            )
        if held < fleet and not self.expiring and self._best_held == fleet:
            self.expiring = True
            events.emit(
                EventKind.LEASES_EXPIRING, dwfm.host, f"{fleet - held} of {fleet} droplet leases expired", held=held
            )
        if held > self._best_held or held == fleet:
            self._best_held, self._best_at = held, now
        elif (
            self.expiring
            and not self.stalled
            and (delta["abandoned"] or delta["refused"])
            and now - max(self._best_at, self._failed_at) >= self.stall
        ):
            self.stalled = True
            events.emit(
                EventKind.DWFM_NO_PROGRESS,
                dwfm.host,
                f"DWFM congestive collapse: DynamoDB has answered for {self.stall:.0f} s, yet {held} of {fleet} leases "
                f"are held ({delta['abandoned']} work items finished too late in the last second)",
                held=held,
                queued=len(dwfm.queued),
            )
        if held == fleet and self.expiring:
            events.emit(EventKind.LEASES_RECOVERED, dwfm.host, f"all {fleet} droplet leases held again")
            self.failing = self.expiring = self.unreachable = self.stalled = False
        if held < self._best_held - fleet // 10:  # a fresh fall: measure progress from here
            self._best_held, self._best_at = held, now
