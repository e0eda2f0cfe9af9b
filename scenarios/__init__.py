"""Scenario files, their validation, the fault timeline, the runner and the `cascadesim` command.

Importing the package imports nothing else: the command line starts fast and loads what its command needs (a
scenario's models: scenarios.config.schema).
"""
