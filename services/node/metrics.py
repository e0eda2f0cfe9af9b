"""A node's capacity-model statistics in the Prometheus text exposition format (version 0.0.4)."""

from __future__ import annotations

from services.node.capacity import COUNTERS, CapacityModel

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def prometheus_text(node: str, model: CapacityModel) -> str:
    stats = model.stats
    label = f'node="{node}"'
    lines = [
        "# HELP cascadesim_requests_total Requests by what happened to them.",
        "# TYPE cascadesim_requests_total counter",
        *(f'cascadesim_requests_total{{{label},outcome="{name}"}} {stats.totals[name]}' for name in COUNTERS),
        "# HELP cascadesim_queue_depth Requests waiting for a worker.",
        "# TYPE cascadesim_queue_depth gauge",
        f"cascadesim_queue_depth{{{label}}} {model.queue_depth}",
        "# HELP cascadesim_in_flight Requests holding a worker.",
        "# TYPE cascadesim_in_flight gauge",
        f"cascadesim_in_flight{{{label}}} {model.in_flight}",
        "# HELP cascadesim_workers Concurrency of the node.",
        "# TYPE cascadesim_workers gauge",
        f"cascadesim_workers{{{label}}} {model.spec.workers}",
        "# HELP cascadesim_latency_seconds Time from arrival to completion.",
        "# TYPE cascadesim_latency_seconds summary",
    ]
    histogram = stats.latency
    for quantile in (0.5, 0.9, 0.99, 0.999):
        value = histogram.get_value_at_percentile(quantile * 100) / 1e6 if histogram.get_total_count() else 0.0
        lines.append(f'cascadesim_latency_seconds{{{label},quantile="{quantile}"}} {value:.6f}')
    total = histogram.get_total_count()
    lines.append(f"cascadesim_latency_seconds_sum{{{label}}} {histogram.get_mean_value() * total / 1e6:.6f}")
    lines.append(f"cascadesim_latency_seconds_count{{{label}}} {total}")
    return "\n".join(lines) + "\n"
