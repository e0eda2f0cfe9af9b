"""Benchmark (not a test): does each what-if variant's customer view live agree in shape with its virtual run?

Reads two comparison directories of the same what-if file, one `--virtual` at full length and one live (the
replay's timeline compressed `live_compression` times from `live_from`), and prints for every variant and service,
side by side, the time its customers saw errors and the first and last minute of impact, the live figures scaled
back to the full timeline (a live second t after live_from counts as live_from + (t - live_from) × k); then each
phase of AWS's timeline, whether it happened in each. "Same shape" for a variant: the same services had errors
(more than a minute of the full timeline) and the same phases happened. Exit status 1 if any variant differs.

    .venv/bin/python -m benchmarks.what_if_live_vs_virtual VIRTUAL_DIR LIVE_DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from reports.customers import duration_text
from scenarios.config.schema import load_scenario

MATTERS_S = 60.0  # errors shorter than this (of the full timeline) do not count as a service's impact


def _scale(t: float | None, origin: float, k: float) -> float | None:
    if t is None:
        return None
    return t if t <= origin else origin + (t - origin) * k


def _clock(t: float | None) -> str:
    if t is None:
        return "–"
    minutes = round(t / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _variants(root: Path) -> dict[str, dict[str, Any]]:
    summary = json.loads((root / "comparison.json").read_text(encoding="utf-8"))
    return {v["name"]: v for v in summary.get("variants", [])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("virtual", type=Path)
    parser.add_argument("live", type=Path)
    args = parser.parse_args(argv)
    virtual, live = _variants(args.virtual), _variants(args.live)
    differ = 0
    for name, full in virtual.items():
        played = live.get(name)
        if played is None:
            print(f"\n{name}: no live run")
            differ += 1
            continue
        # the live run's own scenario.toml is as played (compressed already); the written one says by how much
        written = load_scenario(args.virtual / full["directory"] / "scenario.toml")
        k, origin = written.live_compression, written.live_from
        print(f"\n### {name}\n")
        print("| service | virtual: errors | first–last | live ×k: errors | first–last |")
        print("| --- | --- | --- | --- | --- |")
        hit: dict[str, set[str]] = {"virtual": set(), "live": set()}
        services = {s["kind"]: s for s in full["customers"]["services"]}
        live_services = {s["kind"]: s for s in played["customers"]["services"]}
        for kind, s in services.items():
            other = live_services.get(kind, {"windows": [], "label": s["label"]})
            scaled = [[_scale(a, origin, k), _scale(b, origin, k)] for a, b in other["windows"]]
            live_error = sum((b or 0) - (a or 0) for a, b in scaled)
            if s["error_s"] > MATTERS_S:
                hit["virtual"].add(kind)
            if live_error > MATTERS_S:
                hit["live"].add(kind)
            first = scaled[0][0] if scaled else None
            last = scaled[-1][1] if scaled else None
            print(
                f"| {s['label']} | {duration_text(s['error_s'])} | {_clock(s['first_s'])}–{_clock(s['last_s'])} "
                f"| {duration_text(live_error)} | {_clock(first)}–{_clock(last)} |"
            )
        phases = {key: bool(p["spans"]) for key, p in full["customers"]["phases"].items()}
        live_phases = {key: bool(p["spans"]) for key, p in played["customers"]["phases"].items()}
        labels = {key: p["label"] for key, p in full["customers"]["phases"].items()}
        print("\n| phase | virtual | live |\n| --- | --- | --- |")
        for key, happened in phases.items():
            print(f"| {labels[key]} | {'yes' if happened else 'no'} | {'yes' if live_phases.get(key) else 'no'} |")
        same = hit["virtual"] == hit["live"] and phases == live_phases
        differ += not same
        said = "same shape" if same else f"differs: services {sorted(hit['virtual'])} vs {sorted(hit['live'])}"
        print(f"\n{name}: {said}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
