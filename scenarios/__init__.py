"""Scenario files, their validation, the fault timeline, the runner and the `cascadesim` command."""

from scenarios.config.schema import Scenario, ScenarioError, load_scenario

__all__ = ["Scenario", "ScenarioError", "load_scenario"]
