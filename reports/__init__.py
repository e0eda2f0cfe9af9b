"""Run data -> KPIs -> HTML: everything here works from a saved run directory alone."""

from reports.comparison import render_comparison
from reports.kpis import DEFINITIONS, compute
from reports.render import render_run

__all__ = ["DEFINITIONS", "compute", "render_comparison", "render_run"]
