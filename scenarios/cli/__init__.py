"""The `cascadesim` command (typer): one function per command, the work done by the packages beside it."""

from scenarios.cli.commands import app, main

__all__ = ["app", "main"]
