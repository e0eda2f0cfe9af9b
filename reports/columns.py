"""The columns of a run's timeseries.csv, named once: scenarios/run/sampler.py writes them; the KPIs, the charts, the
terminal's progress bar and the tests read them by these names.

One row per simulated second (the row for second N covers N-1 to N):

    second                                  the second the row closes
    dns_<label>_addresses                   addresses DNS gives for each of DynamoDB's names, as of the second's end
    <node>_<counter>                        a node's capacity counters over the second (services.node.capacity.COUNTERS)
    <node>_queue, <node>_in_flight          its queue depth and work in flight, as of the second's end
    <node>_p50_ms, <node>_p99_ms            its latency over the second (the worst node's, where there are several)
    dwfm_leases                             droplet leases DWFM holds (a run with [ec2])
    lambda_poller_backlog                   records waiting for Lambda's event-source poller (a run with [lambda])
    <service>_op_<Operation>_ok|_failed     a declared service's answers to one operation over the second
    harness_<process>_lag_ms, _cpu          live runs: the cloud's and Locust's event-loop lag and CPU (harness)
    clients_<measure>                       all clients: logical requests, attempts, and each outcome class
    clients_<kind>_logical, clients_<kind>_ok   the same for one user kind (the [load] mix's dynamodb, ec2, lambda)
    app_<node>_<outcome>                    calls from outside the cloud (the user's program under `cascadesim exec`
                                            or the pytest plugin) that a node answered: ok, throttled, server_error,
                                            client_error (services/net/outside.py); runs with a program only
    app_lookups_<outcome>                   that program's lookups of the cloud's names: answered, no_address,
                                            no_such_name, resolver_unavailable (scenarios/guest/app_hook/)
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

SECOND = "second"


def dns_addresses(label: str) -> str:
    """The column of one of DynamoDB's DNS names, by its label."""
    return f"dns_{label}_addresses"


DNS_REGIONAL_ADDRESSES = dns_addresses("regional")
DNS_IPV6_ADDRESSES = dns_addresses("ipv6")
DNS_FIPS_ADDRESSES = dns_addresses("fips")
DNS_ADDRESSES = (DNS_REGIONAL_ADDRESSES, DNS_IPV6_ADDRESSES, DNS_FIPS_ADDRESSES)

# The nodes with a capacity model, by their columns' prefix (the DynamoDB routers are summed into one).
DYNAMODB = "dynamodb"
EC2_API = "ec2_api"
DWFM = "dwfm"
NETMGR = "netmgr"
LAMBDA = "lambda"
# What a node's columns give besides its counters.
QUEUE = "queue"
IN_FLIGHT = "in_flight"
P50_MS = "p50_ms"
P99_MS = "p99_ms"


@cache  # one string per column name: 52,340 rows of a replay share their keys, not hold copies
def node_column(node: str, measure: str) -> str:
    """A node's column: one of its capacity counters (arrivals, completed, wasted, ...), QUEUE, IN_FLIGHT, P50_MS
    or P99_MS."""
    return f"{node}_{measure}"


DYNAMODB_ARRIVALS = node_column(DYNAMODB, "arrivals")
DYNAMODB_COMPLETED = node_column(DYNAMODB, "completed")
DYNAMODB_WASTED = node_column(DYNAMODB, "wasted")
DWFM_COMPLETED = node_column(DWFM, "completed")
DWFM_WASTED = node_column(DWFM, "wasted")
DWFM_EXPIRED = node_column(DWFM, "expired")
DWFM_QUEUE = node_column(DWFM, QUEUE)
DWFM_LEASES = "dwfm_leases"
LAMBDA_POLLER_BACKLOG = "lambda_poller_backlog"

# The clients' measures: LOGICAL and ATTEMPTS, and each outcome class (loadgen.behaviour.OUTCOME_CLASSES), OK among
# them; a user kind has a LOGICAL and an OK column of its own.
LOGICAL = "logical"
ATTEMPTS = "attempts"
OK = "ok"
_CLIENTS = "clients_"


@cache  # one string per column name: 52,340 rows of a replay share their keys, not hold copies
def clients(measure: str) -> str:
    """A column over all the clients."""
    return _CLIENTS + measure


@cache  # one string per column name: 52,340 rows of a replay share their keys, not hold copies
def operation_column(service: str, operation: str, outcome: str) -> str:
    """A declared service's answers to one operation in a second: outcome "ok" or "failed" (429 or 503)."""
    return f"{service}_op_{operation}_{outcome}"


def operations(columns: Iterable[str]) -> list[tuple[str, str]]:
    """The (service, operation) pairs that have columns among `columns`, sorted."""
    found = set()
    for column in columns:
        service, op, rest = column.partition("_op_")
        if op and rest.endswith("_ok"):
            found.add((service, rest.removesuffix("_ok")))
    return sorted(found)


@cache  # one string per column name: 52,340 rows of a replay share their keys, not hold copies
def clients_of(kind: str, measure: str) -> str:
    """A column of one user kind's clients (LOGICAL or OK)."""
    return f"{_CLIENTS}{kind}_{measure}"


CLIENTS_LOGICAL = clients(LOGICAL)
CLIENTS_ATTEMPTS = clients(ATTEMPTS)
CLIENTS_OK = clients(OK)


def client_kinds(columns: Iterable[str]) -> list[str]:
    """The user kinds that have columns of their own among `columns`, sorted."""
    suffix = "_" + LOGICAL
    return sorted(
        column.removeprefix(_CLIENTS).removesuffix(suffix)
        for column in columns
        if column.startswith(_CLIENTS) and column.endswith(suffix) and column != CLIENTS_LOGICAL
    )


# The user's own program (`cascadesim exec`, the pytest plugin): its calls that reached a node, by how they ended
# (services.net.outside.OUTSIDE_OUTCOMES), and its lookups of the cloud's names, by what DNS said
# (scenarios/guest/app_hook/cascadesim_names.py, which cannot import this module: a test checks the names alike).
APP_NODES = {"dynamodb": DYNAMODB, "ec2": EC2_API, "lambda": LAMBDA}  # by service (the keys of topology.cloud.Cloud)
APP_CALL_OUTCOMES = ("ok", "throttled", "server_error", "client_error")
LOOKUP_OUTCOMES = ("answered", "no_address", "no_such_name", "resolver_unavailable")
LOOKUP_FAILURES = LOOKUP_OUTCOMES[1:]


def app_calls(node: str, outcome: str) -> str:
    """The program's calls that `node` answered with `outcome`."""
    return f"app_{node}_{outcome}"


def app_lookups(outcome: str) -> str:
    """The program's lookups of the cloud's names that ended with `outcome`."""
    return f"app_lookups_{outcome}"


# The machine under a live run (loadgen/load_gauge.py): each second, the cloud's process's event-loop lag and CPU (a
# share of one core), and the worst of the Locust processes'. Virtual runs have none of these columns.
HARNESS_CLOUD_LAG_MS = "harness_cloud_lag_ms"
HARNESS_CLOUD_CPU = "harness_cloud_cpu"
HARNESS_LOCUST_LAG_MS = "harness_locust_lag_ms"
HARNESS_LOCUST_CPU = "harness_locust_cpu"
HARNESS = ((HARNESS_CLOUD_LAG_MS, HARNESS_CLOUD_CPU), (HARNESS_LOCUST_LAG_MS, HARNESS_LOCUST_CPU))  # (lag, cpu) each
HARNESS_CLOUD_TASKS = "harness_cloud_tasks"  # the cloud's process: its event loop's tasks (a soak watches them)
