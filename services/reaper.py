"""Nothing outlives its runner: a small process that stops what the runner started if the runner dies.

A run starts processes of its own in process groups of their own (Locust's master and workers, nginx, the user's
program), and stops them itself, on Ctrl-C too. Killed hard (SIGKILL, the OOM killer, a CI timeout), the runner can
stop nothing: they would keep running, holding the run's ports. So the first time a runner starts such a process it
also starts a reaper (`python -m services.reaper`, in a session of its own, so that Ctrl-C does not reach it) and
tells it, over a pipe, each process group it starts (and a directory to remove with it, nginx's); and each group it
has stopped itself. The reaper waits for the pipe to close: when the runner exits, whichever way, the kernel closes
it. The groups it still holds then get SIGTERM (nginx's fast shutdown, Locust's exit, the program's), SIGKILL
`GRACE` seconds later if any process is left, and their directories are removed. A runner that stopped everything
itself leaves the reaper nothing to do.

    +PGID[ DIRECTORY]   watch this process group (and remove DIRECTORY after it)
    -PGID               the runner stopped it itself
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from typing import IO

GRACE = 3.0  # seconds between SIGTERM and SIGKILL


class Reaper:
    """The runner's side: starts the reaper process on first use and tells it what to watch."""

    def __init__(self) -> None:
        self._pipe: IO[str] | None = None
        self._process: subprocess.Popen[str] | None = None

    def watch(self, pgid: int, directory: str | None = None) -> None:
        self._say(f"+{pgid}" + (f" {directory}" if directory else ""))

    def forget(self, pgid: int) -> None:
        if self._pipe is not None:
            self._say(f"-{pgid}")

    def _say(self, line: str) -> None:
        if self._pipe is None or (self._process is not None and self._process.poll() is not None):
            self._process = subprocess.Popen(
                [sys.executable, "-m", "services.reaper"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
                start_new_session=True,  # Ctrl-C goes to the runner's group, not to its reaper
                close_fds=True,
            )
            self._pipe = self._process.stdin
        assert self._pipe is not None
        with contextlib.suppress(BrokenPipeError, ValueError):
            self._pipe.write(line + "\n")
            self._pipe.flush()


REAPER = Reaper()  # one per runner process


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def reap(watched: dict[int, str | None], grace: float = GRACE) -> None:
    """SIGTERM to every watched group still alive, SIGKILL to those left after `grace` s; remove their directories."""
    for pgid in watched:
        if _alive(pgid):
            _kill(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pgid) for pgid in watched):
        time.sleep(0.05)
    for pgid in watched:
        if _alive(pgid):
            _kill(pgid, signal.SIGKILL)
    for directory in watched.values():
        if directory:
            shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    """Read the runner's lines until its end of the pipe closes, then stop what is still watched."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the pipe's end ends the reaper
    watched: dict[int, str | None] = {}
    for line in sys.stdin:
        sign, _, rest = line.strip().partition(" ") if line[:1] == "+" else (line.strip(), "", "")
        with contextlib.suppress(ValueError):
            if sign.startswith("+"):
                watched[int(sign[1:])] = rest or None
            elif sign.startswith("-"):
                watched.pop(int(sign[1:]), None)
    reap(watched)


if __name__ == "__main__":
    main()
