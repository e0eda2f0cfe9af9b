"""The metastability map of a sweep (`map.html`), rendered from a sweep directory alone (sweep.json and the cells'
run directories).

Per policy set, a heatmap over the sweep's first two axes with more than one value (one axis: a single row): each
cell's verdict (reports/verdict.py: recovered, stuck or undecided; with repeats, the share of its decided runs
that were stuck, with a 95 % Wilson interval), with time to recover as a second view, and the boundary drawn where
the share first reaches one half along the first axis, with its uncertainty: from the first point whose interval
reaches one half to the first whose interval lies above it. One more chart overlays every policy set's boundary,
so a policy that moves the edge shows it. Clicking a cell opens its run's report; a table lists every run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports.comparison import PALETTE
from reports.render import environment, plotly_script, read_json
from reports.timeline import Figure, text
from reports.verdict import RECOVERED, STUCK, UNDECIDED

TIPPED = 0.5  # the share of decided runs stuck at which a cell counts as past the boundary


@dataclass
class Point:
    """One grid point of one policy set: its runs' verdicts (one per seed)."""

    verdicts: list[str]
    recovered_after: list[float]
    reports: list[str]  # the runs' report.html, relative to the sweep directory

    @property
    def stuck(self) -> int:
        return self.verdicts.count(STUCK)

    @property
    def decided(self) -> int:
        return self.stuck + self.verdicts.count(RECOVERED)

    @property
    def share(self) -> float | None:
        """The share of its decided runs that were stuck (None: none was decided)."""
        return self.stuck / self.decided if self.decided else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The share's 95 % Wilson score interval."""
        return wilson(self.stuck, self.decided) if self.decided else None

    def said(self) -> str:
        """Its verdicts in words: `stuck`, `2 of 3 stuck (95 %: 21–94 %)`, `undecided`."""
        if not self.verdicts:
            return "did not run"
        if len(self.verdicts) == 1:
            return self.verdicts[0]
        undecided = len(self.verdicts) - self.decided
        text = f"{self.stuck} of {self.decided} stuck" if self.decided else "undecided"
        if self.interval is not None:
            low, high = self.interval
            text += f" (95 %: {low:.0%}–{high:.0%})"
        return text + (f", {undecided} undecided" if self.decided and undecided else "")

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
        point.verdicts.append(verdict_of(kpis))
        if kpis.get("time_to_recover_s") is not None:
            point.recovered_after.append(float(kpis["time_to_recover_s"]))
    return grid


def verdict_of(kpis: Mapping[str, Any]) -> str:
    """A cell's verdict (kpis.json from before verdicts: its `metastable`, which then meant the run's end)."""
    if "verdict" in kpis:
        return str(kpis["verdict"])
    metastable = kpis.get("metastable")
    return UNDECIDED if metastable is None else (STUCK if metastable else RECOVERED)


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a binomial share (95 % for z = 1.96)."""
    share = successes / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def uncertainty(grid: Mapping[tuple[Any, Any], Point], x_values: Sequence[Any], y: Any) -> tuple[Any, Any]:
    """Along row `y`: the first point whose interval reaches one half, and the first whose interval lies above it
    (None where there is none)."""
    low = high = None
    for x in x_values:
        point = grid.get((x, y))
        interval = point.interval if point is not None else None
        if interval is None:
            continue
        if low is None and interval[1] >= TIPPED:
            low = x
        if high is None and interval[0] > TIPPED:
            high = x
    return low, high


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
        spans = [list(uncertainty(grid, x_values, y)) for y in y_values]
        edges.append({"policy": policy, "edges": lines, "uncertain": spans})
        for view, title, scale in (
            ("share", "verdict: share of decided runs stuck", [[0, "#eaf7ee"], [0.5, "#f5c16c"], [1, "#c0392b"]]),
            ("recovery", "time to recover (s)", "Viridis"),
        ):
            z = [[_value(grid.get((x, y)), view) for x in x_values] for y in y_values]
            links = [[_link(grid.get((x, y))) for x in x_values] for y in y_values]
            said = [[_said(grid.get((x, y))) for x in x_values] for y in y_values]
            data: list[dict[str, Any]] = [
                {
                    "type": "heatmap",
                    "x": shown_x,
                    "y": [text(y) for y in y_values] if ys else ["all runs"],
                    "z": z,
                    "customdata": links,
                    "text": said,
                    "colorscale": scale,
                    "zmin": 0 if view == "share" else None,
                    "zmax": 1 if view == "share" else None,
                    "hovertemplate": f"{text(xs)}=%{{x}}<br>%{{text}}<br>{text(title)}: %{{z}}<extra></extra>",
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


def _said(point: Point | None) -> str:
    return "did not run" if point is None else point.said()


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
        verdict_of=verdict_of,
        plotly=plotly_script(root),
    )
    path = root / "map.html"
    path.write_text(page, encoding="utf-8")
    return path
