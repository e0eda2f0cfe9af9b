"""Real nginx in front of the DynamoDB routers, in live runs (`[dynamodb] load_balancer = "nginx"`).

AWS's account of the outage says anyone could set up a replica of the system "using nothing more than Nginx and
your language of choice"; here each of the Planner's load-balancer addresses (router N's) is an nginx process of
Debian's package that proxies to router N's app, which then listens at its nginx backend address
(services/net/addresses.py). The Planner's health
checks go through nginx as any client's requests do, so an nginx that stops is taken out of the plan like a
router that fails. `kill_node` on `nginx-N` stops it (SIGTERM: nginx's fast shutdown) and revival starts it again.

Each nginx runs in the foreground (`daemon off`), in a process group of its own, with its configuration, pid
file, error log and temporary files in a directory of its own that goes when it stops. Virtual runs keep the
built-in model (the router's app at the address), so this module is used by live runs only.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import anyio
from anyio.abc import Process

from services.errors import CascadesimError, ListenError
from services.events import EventLog
from services.net.addresses import nginx_backend_host
from services.net.network import Address, require_loopback
from services.node.restartable import RestartableNode
from services.reaper import REAPER
from services.runtime import TaskStatus

PACKAGE = "nginx"  # Debian's package
MIN_VERSION = (1, 18)  # bookworm ships 1.22; older ones lack nothing used here but are untested
READY_TIMEOUT = 5.0
STOP_GRACE = 3.0


class NginxUnavailable(CascadesimError):
    """nginx is not installed, or too old, or would not start."""


def nginx_binary() -> str | None:
    """The nginx executable: CASCADESIM_NGINX if set (a build of your own), else nginx on PATH or in /usr/sbin
    (where Debian puts it, outside a normal user's PATH)."""
    chosen = os.environ.get("CASCADESIM_NGINX")
    if chosen:
        return shutil.which(chosen)
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def nginx_version(binary: str) -> tuple[int, ...]:
    """The installed version, from `nginx -v` ("nginx version: nginx/1.22.1", on stderr)."""
    said = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10, check=False)
    found = re.search(r"nginx/(\d+(?:\.\d+)+)", said.stderr + said.stdout)
    if found is None:
        raise NginxUnavailable(f"{binary} -v did not say its version: {said.stderr.strip()!r}")
    return tuple(int(part) for part in found.group(1).split("."))


def require_nginx() -> str:
    """The nginx executable, checked; raises NginxUnavailable with a one-line message naming the package."""
    binary = nginx_binary()
    if binary is None:
        chosen = os.environ.get("CASCADESIM_NGINX")
        if chosen:
            raise NginxUnavailable(f"CASCADESIM_NGINX={chosen} is not an executable")
        raise NginxUnavailable(f"nginx is not installed (Debian: apt-get install {PACKAGE})")
    version = nginx_version(binary)
    if version < MIN_VERSION:
        wanted = ".".join(map(str, MIN_VERSION))
        raise NginxUnavailable(f"nginx {'.'.join(map(str, version))} is too old: {wanted} or newer is needed")
    return binary


def backend_address(index: int, port: int) -> Address:
    """Where router `index`'s app listens when an nginx holds its load-balancer address."""
    return (nginx_backend_host(index), port)


def nginx_config(listen: Address, upstream: Address, prefix: Path) -> str:
    """One nginx: a master and one worker, proxying HTTP/1.1 with keep-alive to one router's app. Client headers
    (x-deadline, User-Agent, X-Amz-Target) go through as they are; no access log, no buffering of bodies to disk."""
    return f"""\
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    client_max_body_size 16m;
    client_body_buffer_size 1m;
    proxy_buffering off;
    proxy_request_buffering off;
    keepalive_requests 100000;
    upstream router {{
        server {upstream[0]}:{upstream[1]};
        keepalive 32;
    }}
    server {{
        listen {listen[0]}:{listen[1]};
        location / {{
            proxy_pass http://router;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


class NginxFront(RestartableNode):
    """A real nginx at a load-balancer address, in front of one router's app; faults can kill and revive it."""

    def __init__(self, name: str, address: Address, upstream: Address, events: EventLog, binary: str) -> None:
        require_loopback(address[0])
        require_loopback(upstream[0])
        super().__init__(name, address, events)
        self.upstream = upstream
        self.binary = binary  # require_nginx()'s
        self.pid: int | None = None

    def _down(self) -> str:
        return f"{self.name} (nginx) stopped: nothing listens on {_at(self.address)}"

    def _back(self) -> str:
        return f"{self.name} (nginx) listens on {_at(self.address)} again"

    async def _serve(self, *, task_status: TaskStatus[Address]) -> None:
        prefix = await anyio.to_thread.run_sync(self._prepare)
        process = await anyio.open_process(
            [self.binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the runner, which stops nginx itself
        )
        self.pid = process.pid
        REAPER.watch(process.pid, str(prefix))  # stopped, its directory removed, even if this runner is killed hard
        try:
            await self._until_ready(process, prefix)
            task_status.started(self.address)
            status = await process.wait()
            raise NginxUnavailable(f"{self.name}: nginx exited with status {status}: {_last_error(prefix)}")
        finally:
            with anyio.CancelScope(shield=True):
                await _stop(process)
            REAPER.forget(process.pid)
            shutil.rmtree(prefix, ignore_errors=True)
            self.pid = None

    def _prepare(self) -> Path:
        """nginx's own directory, with its configuration."""
        prefix = Path(tempfile.mkdtemp(prefix=f"cascadesim-{self.name}-"))
        prefix.chmod(0o755)  # nginx's worker may run as another user (nobody, when started as root)
        (prefix / "nginx.conf").write_text(nginx_config(self.address, self.upstream, prefix), encoding="utf-8")
        return prefix

    async def _until_ready(self, process: Process, prefix: Path) -> None:
        with anyio.move_on_after(READY_TIMEOUT):
            while process.returncode is None:
                try:
                    stream = await anyio.connect_tcp(*self.address)
                except OSError:
                    await anyio.sleep(0.02)
                    continue
                await stream.aclose()
                return
        await anyio.sleep(0.05)  # let a failed start write its error log
        problem = _last_error(prefix)
        if "Address already in use" in problem:
            raise ListenError("http", self.address, OSError(98, "Address already in use (nginx)"))
        raise NginxUnavailable(f"{self.name}: nginx did not start on {_at(self.address)}: {problem}")


async def _stop(process: Process) -> None:
    """SIGTERM to nginx's group (its fast shutdown), SIGKILL if it has not gone after a grace period."""
    if process.returncode is None:
        _signal_group(process.pid, signal.SIGTERM)
        with anyio.move_on_after(STOP_GRACE):
            await process.wait()
    if process.returncode is None:
        _signal_group(process.pid, signal.SIGKILL)
        await process.wait()
    await process.aclose()


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group has already gone
        os.killpg(pid, signum)


def _last_error(prefix: Path) -> str:
    try:
        lines = (prefix / "error.log").read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no error log"
    return lines[-1] if lines else "its error log is empty"


def _at(address: Address) -> str:
    return f"{address[0]}:{address[1]}"
