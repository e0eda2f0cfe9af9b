"""Scenario files, their validation, the fault timeline, the runner and the `cascadesim` command."""

from scenarios.schema import Scenario, ScenarioError, load_scenario

__all__ = ["Scenario", "ScenarioError", "load_scenario"]
