"""The operator's console on the command line: the options `run` and `serve` take for it, the console a live run
serves (scenarios/run/operator_console.py), and `cascadesim console RUN_DIR` (scenarios/run/saved_console.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scenarios.run.arguments import console, errors
from services.net.addresses import HOST

if TYPE_CHECKING:
    from scenarios.config.schema import Scenario
    from scenarios.run.operator_console import OperatorConsole

ConsoleOption = Annotated[
    bool, typer.Option("--console", help="Live: serve the operator's console (a page on 127.0.0.1) beside the run.")
]
ConsolePortOption = Annotated[int, typer.Option(help="The console's port (default: one the kernel picks).", min=0)]
OpenOption = Annotated[bool, typer.Option("--open", help="Open the console in a browser.")]


def operator_console_for(
    written: Scenario, loaded: Scenario, port: int, open_page: bool
) -> tuple[Scenario, OperatorConsole]:
    """The scenario a console run plays (its own operator actions left out, as the terminal says) and its console,
    which prints its address once it listens (and opens it, with --open)."""
    from scenarios.run.operator_console import OperatorConsole

    if loaded.operator:
        console.print(
            f"--console: the scenario's {len(loaded.operator)} operator action(s) are left out; you are the operator",
            highlight=False,
        )
    playing = loaded.model_copy(update={"operator": ()})

    def listening(url: str) -> None:
        console.print(f"operator's console: {url}", highlight=False)
        if open_page:
            import webbrowser

            webbrowser.open(url)

    return playing, OperatorConsole(playing, written, port=port, on_listening=listening)


def console_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (runs/<name>-<policy>-<stamp>/), live or virtual.")],
    port: ConsolePortOption = 0,
    open_page: OpenOption = False,
) -> None:
    """Open a finished run in the operator's console, with a time slider: the cloud at any second (Ctrl-C stops)."""
    import signal

    import anyio

    from scenarios.run.saved_console import SavedRun, saved_app
    from services import runtime
    from services.net.network import LiveNetwork

    try:
        run = SavedRun(run_dir)
    except (FileNotFoundError, ValueError) as exc:
        errors.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None

    async def main() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with anyio.create_task_group() as nursery:
                host, bound = await nursery.start(LiveNetwork().serve_asgi, saved_app(run), (HOST, port))
                url = f"http://{host}:{bound}/"
                console.print(f"console of {run_dir} ({run.seconds} s): {url} (Ctrl-C stops it)", highlight=False)
                if open_page:
                    import webbrowser

                    webbrowser.open(url)
                async for _ in signals:
                    nursery.cancel_scope.cancel()
                    return

    runtime.run_live(main)
