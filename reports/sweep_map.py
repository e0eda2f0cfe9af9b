"""The metastability map of a sweep (`map.html`), rendered from a sweep directory alone (sweep.json and the cells'
run directories).

Per policy set, a heatmap over the sweep's first two axes with more than one value (one axis: a single row): the
share of the cell's runs that ended metastable (its repeats, one per seed), with time to recover as a second view,
and the boundary drawn where the share first reaches one half along the first axis. One more chart overlays every
policy set's boundary, so a policy that moves the edge shows it. Clicking a cell opens its run's report; a table
lists every run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports.comparison import PALETTE
from reports.render import environment, plotly_js, read_json
from reports.timeline import Figure, text

TIPPED = 0.5  # the share of metastable runs at which a cell counts as past the boundary


@dataclass
class Point:
    """One grid point of one policy set: its runs' outcomes (one per seed)."""

    metastable: list[bool]
    recovered_after: list[float]
    reports: list[str]  # the runs' report.html, relative to the sweep directory

    @property
    def share(self) -> float | None:
        return sum(self.metastable) / len(self.metastable) if self.metastable else None

    @property
    def recovery(self) -> float | None:
        return sum(self.recovered_after) / len(self.recovered_after) if self.recovered_after else None


def points(cells: Sequence[Mapping[str, Any]], policy: str, xs: str, ys: str | None) -> dict[tuple[Any, Any], Point]:
    grid: dict[tuple[Any, Any], Point] = {}
    for cell in cells:
        if cell["policy"] != policy:
            continue
        key = (cell["values"].get(xs), cell["values"].get(ys) if ys is not None else None)
        point = grid.setdefault(key, Point([], [], []))
        point.reports.append(f"{cell['directory']}/report.html")
        kpis = cell.get("kpis")
        if kpis is None:
            continue
        point.metastable.append(bool(kpis.get("metastable")))
        if kpis.get("time_to_recover_s") is not None:
            point.recovered_after.append(float(kpis["time_to_recover_s"]))
    return grid


def boundary(grid: Mapping[tuple[Any, Any], Point], x_values: Sequence[Any], y: Any) -> float | None:
    """Where the row `y` tips: halfway between the last point below TIPPED and the first at or above it (None:
    it never tips in range)."""
    below: Any = None
    for x in x_values:
        share = grid[(x, y)].share if (x, y) in grid else None
        if share is None:
            continue
        if share >= TIPPED:
            return float(x) if below is None else (float(below) + float(x)) / 2
        below = x
    return None


def map_charts(summary: Mapping[str, Any]) -> tuple[list[Figure], list[dict[str, Any]]]:
    """The charts (per policy set: share and recovery; then the boundaries overlaid) and each policy's boundary."""
    axes = [a for a in summary["axes"] if len(a["values"]) > 1]  # a one-value axis is a setting, not a dimension
    xs = axes[0]["path"] if axes else None
    ys = axes[1]["path"] if len(axes) > 1 else None
    x_values = axes[0]["values"] if axes else [None]
    y_values = axes[1]["values"] if len(axes) > 1 else [None]
    numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x in x_values)
    shown_x = list(x_values) if numeric else [text(x) for x in x_values]
    charts: list[Figure] = []
    edges: list[dict[str, Any]] = []
    for p, policy in enumerate(summary["policies"]):
        grid = points(summary["cells"], policy, xs or "", ys)
        lines = [boundary(grid, x_values, y) for y in y_values]
        edges.append({"policy": policy, "edges": lines})
        for view, title, scale in (
            ("share", "share of runs metastable", [[0, "#eaf7ee"], [0.5, "#f5c16c"], [1, "#c0392b"]]),
            ("recovery", "time to recover (s)", "Viridis"),
        ):
            z = [[_value(grid.get((x, y)), view) for x in x_values] for y in y_values]
            links = [[_link(grid.get((x, y))) for x in x_values] for y in y_values]
            data: list[dict[str, Any]] = [
                {
                    "type": "heatmap",
                    "x": shown_x,
                    "y": [text(y) for y in y_values] if ys else ["all runs"],
                    "z": z,
                    "customdata": links,
                    "colorscale": scale,
                    "zmin": 0 if view == "share" else None,
                    "zmax": 1 if view == "share" else None,
                    "hovertemplate": f"{text(xs)}=%{{x}}<br>{text(title)}: %{{z}}<extra></extra>",
                    "xgap": 1,
                    "ygap": 1,
                }
            ]
            if view == "share":
                data.append(_boundary_trace(lines, y_values, ys, "boundary", "#1d1d1f"))
            charts.append(
                {
                    "id": f"{p}-{view}",
                    "data": data,
                    "layout": {**_layout(f"{text(policy)}: {title}", xs, ys, numeric), "showlegend": False},
                    "links": True,
                }
            )
    if ys is None:  # one axis: a row per policy set, its boundary marked on it
        overlay = [
            {
                "type": "scatter",
                "mode": "markers",
                "x": e["edges"],
                "y": [text(e["policy"])],
                "name": text(e["policy"]),
                "marker": {"size": 26, "symbol": "line-ns-open", "line": {"width": 4}, "color": PALETTE[i % 8]},
                "hovertemplate": f"{text(e['policy'])}: tips at %{{x}}<extra></extra>",
            }
            for i, e in enumerate(edges)
        ]
    else:
        overlay = [
            _boundary_trace(e["edges"], y_values, ys, text(e["policy"]), PALETTE[i % len(PALETTE)])
            for i, e in enumerate(edges)
        ]
    layout = _layout("where each policy set tips (the boundary)", xs, ys, numeric)
    layout["margin"]["l"] = 160  # room for the policy sets' names
    if ys is None:
        layout["yaxis"] = {"type": "category", "categoryorder": "array", "categoryarray": summary["policies"]}
    if numeric and len(x_values) > 1:
        half = (max(x_values) - min(x_values)) / (len(x_values) - 1) / 2
        layout["xaxis"]["range"] = [min(x_values) - half, max(x_values) + half]
    charts.append({"id": "boundaries", "data": overlay, "layout": layout})
    return charts, edges


def _value(point: Point | None, view: str) -> float | None:
    if point is None:
        return None
    return point.share if view == "share" else point.recovery


def _link(point: Point | None) -> str | None:
    return point.reports[0] if point is not None and point.reports else None


def _boundary_trace(
    edges: Sequence[float | None], y_values: Sequence[Any], ys: str | None, name: str, colour: str
) -> dict[str, Any]:
    y = [text(v) for v in y_values] if ys else ["all runs"]
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "x": list(edges),
        "y": y,
        "name": name,
        "line": {"color": colour, "width": 3},
        "marker": {"size": 18, "symbol": "line-ns-open", "line": {"width": 3}, "color": colour},
        "hovertemplate": f"{name}: tips at %{{x}}<extra></extra>",
    }


def _layout(title: str, xs: str | None, ys: str | None, numeric: bool) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0, "font": {"size": 15}},
        "height": 260 if ys is None else 380,
        "margin": {"l": 90, "r": 30, "t": 40, "b": 50},
        "xaxis": {"title": {"text": text(xs or "")}, "type": "linear" if numeric else "category"},
        "yaxis": {"title": {"text": text(ys or "")}, "type": "category"},
        "showlegend": True,
    }


def render_map(root: Path) -> Path:
    """Write `root`/map.html from sweep.json and the run directories beside it; returns its path."""
    summary = read_json(root / "sweep.json")
    charts, edges = map_charts(summary)
    page = environment.get_template("sweep.html").render(
        summary=summary,
        edges=edges,
        charts=charts,
        maps=charts[:-1],
        plotly_js=plotly_js(),
    )
    path = root / "map.html"
    path.write_text(page, encoding="utf-8")
    return path
