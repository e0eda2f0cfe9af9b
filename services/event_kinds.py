"""The run's vocabulary of events: every kind an `EventLog` takes, and every fault a scenario can inject.

Each kind is defined here once; the code that emits an event and the code that reads it (the terminal, the
progress bar, the KPIs, the report) both name the member, so a misspelt kind is a mypy error, not a silent miss.
The members are `str`s: events.jsonl holds their values, and events read back from a file (plain strings, from
this or an older run) compare equal to them.
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """What an event says happened (an `Event`'s `kind`)."""

    # The run itself (scenarios/).
    RUN_STARTED = "run_started"  # the cloud is up and the scenario's clock starts
    RUN_STOPPED = "run_stopped"  # the scenario reached its duration
    RUN_INTERRUPTED = "run_interrupted"  # SIGINT or SIGTERM: the run stops, keeping what it gathered
    RUN_FAILED = "run_failed"  # a node or the harness raised: the run stops, keeping what it gathered
    LOAD_STARTED = "load_started"  # Locust's processes are up (live runs)
    LOCUST_EXITED = "locust_exited"  # Locust ended before the run did
    PROGRAM_STARTED = "program_started"  # the user's program (`cascadesim exec`) started
    PROGRAM_EXITED = "program_exited"  # ... and ended (`status`: its exit status); the run ends with it

    # The scenario's faults (scenarios/run/faults.py); `fault` names a FaultKind, `start` and `end` its window.
    FAULT_START = "fault_start"  # a fault begins
    FAULT_END = "fault_end"  # a windowed fault is undone
    # What the operators did (an OperatorKind, e.g. restore_dns or disable_nlb_failover): `action`.
    OPERATOR_ACTION = "operator_action"
    # An operator action timed from an event whose condition no longer held when its time came: not taken.
    OPERATOR_SKIPPED = "operator_skipped"

    # The DNS control plane: the Planner and the Enactors (services/dns/).
    PLAN_PUBLISHED = "plan_published"  # the Planner wrote plan generation N+1 for every endpoint
    PLANNER_FAIL_OPEN = "planner_fail_open"  # no router passed its health check, so the plan keeps them all
    ENACTOR_PICKED = "enactor_picked"  # an Enactor took up the newest plan (its one check that the plan is newer)
    ENDPOINT_HELD = "endpoint_held"  # an Enactor waits: another Enactor holds the endpoint's change batch
    PLAN_APPLIED = "plan_applied"  # an Enactor wrote a plan onto an endpoint (`newest` says how stale it was)
    APPLY_SKIPPED = "apply_skipped"  # the fixed Enactor would not overwrite a record from a newer plan
    APPLY_BLOCKED = "apply_blocked"  # aws-2025: the endpoint's active plan was deleted, so no plan applies again
    EMPTY_REFUSED = "empty_refused"  # the safeguard: an Enactor would not leave an endpoint without addresses
    CLEANUP = "cleanup"  # an Enactor deleted old plans (in aws-2025, with records still active: the race)
    # Route 53's zone (services/dns/control.py).
    RECORD_EMPTIED = "record_emptied"  # a DynamoDB name lost every address: DNS answers NODATA
    RECORD_FILLED = "record_filled"  # the name has addresses again

    # Nodes (services/node/restartable.py, services/ec2/netmgr.py) and DynamoDB's routers.
    NODE_KILLED = "node_killed"  # the kill_node fault: a node's process is gone
    NODE_REVIVED = "node_revived"  # ... and is back
    INTERNAL_ERROR = "internal_error"  # a bug of ours that a router answered with a 500 (the first few, in full)
    INTERNAL_ERRORS_COUNTED = "internal_errors_counted"  # ... and how many there have been, now and then

    # EC2: DWFM's droplet leases (services/ec2/dwfm.py), the launch canary, the Network Manager.
    DWFM_READY = "dwfm_ready"  # the bootstrap holds its leases: the run's steady state begins
    DYNAMODB_UNREACHABLE = "dynamodb_unreachable"  # DWFM cannot resolve DynamoDB
    LEASE_CHECKS_FAILING = "lease_checks_failing"  # no lease renewal succeeds any more
    LEASES_EXPIRING = "leases_expiring"  # droplets lose their leases, so launches on them fail
    DWFM_NO_PROGRESS = "dwfm_no_progress"  # congestive collapse: DynamoDB answers, yet leases do not come back
    LEASES_RECOVERED = "leases_recovered"  # every droplet holds a lease again
    LAUNCHES_FAILING = "launches_failing"  # RunInstances fails (`code`: insufficient capacity, request limit, ...)
    LAUNCHES_RECOVERED = "launches_recovered"  # RunInstances succeeds again
    PROPAGATION_BACKLOG = "propagation_backlog"  # the Network Manager's queue is past its threshold
    PROPAGATION_BACKLOG_DRAINED = "propagation_backlog_drained"  # ... and empty again
    NLB_TARGET_OUT = "nlb_target_out"  # an NLB took a target out of service (its health checks failed)
    NLB_TARGET_IN = "nlb_target_in"  # ... and back in (they passed again)
    NLB_FLAPPING = "nlb_flapping"  # an NLB took out a target it had put back in under 5 min before

    # Lambda (services/lambda_/).
    INVOCATIONS_FAILING = "invocations_failing"  # Invoke fails
    INVOCATIONS_RECOVERED = "invocations_recovered"  # Invoke succeeds again
    POLLER_STUCK = "poller_stuck"  # the event-source poller stopped on an error and does not resume by itself
    POLLER_RESTARTED = "poller_restarted"  # its supervisor restarted it (an operator's restart is an OPERATOR_ACTION)


class FaultKind(StrEnum):
    """A fault a scenario injects: its `kind` in the scenario file, and the `fault` of its FAULT_START/FAULT_END."""

    ENACTOR_DELAY = "enactor_delay"  # an Enactor is slow before each endpoint's change batch
    PLANNER_CHURN = "planner_churn"  # the Planner publishes plans faster
    ROUTER_DOWN = "router_down"  # a DynamoDB router fails its health checks
    KILL_NODE = "kill_node"  # a node's process is gone
    SLOW_NODE = "slow_node"  # a node's service times are multiplied
    LOAD_SPIKE = "load_spike"  # the clients' user counts are multiplied


class OperatorKind(StrEnum):
    """An operator action a scenario schedules: its `kind` in the scenario file, and the `action` of its
    OPERATOR_ACTION event."""

    RESTORE_DNS = "restore_dns"  # the operators repair the zone by hand
    THROTTLE_DWFM = "throttle_dwfm"  # they limit the rate of incoming DWFM work
    RESTART_DWFM = "restart_dwfm"  # they restart the DWFM hosts, clearing their queues
    RELAX_THROTTLES = "relax_throttles"  # they lift the DWFM throttle once the system has recovered
    RESTART_POLLER = "restart_poller"  # they restart Lambda's stuck event-source poller
    DISABLE_NLB_FAILOVER = "disable_nlb_failover"  # they turn NLB DNS failover off (09:36 PDT)


# The control plane's routine steps, several a second: in events.jsonl, but no KPI reads them and a 14-hour run has
# hundreds of thousands, so a run does not keep them in memory.
CONTROL_PLANE_STEPS = frozenset(
    {
        EventKind.PLAN_PUBLISHED,
        EventKind.ENACTOR_PICKED,
        EventKind.ENDPOINT_HELD,
        EventKind.PLAN_APPLIED,
        EventKind.APPLY_BLOCKED,
        EventKind.APPLY_SKIPPED,
        EventKind.CLEANUP,
    }
)
