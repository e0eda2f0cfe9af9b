"""Guests of a run: the user's own program (`cascadesim exec`) or test (the pytest plugin), from outside the cloud.

A guest visits the cloud once it is ready; the run ends when the guest leaves. A program is started in a process
group of its own, with an environment under which unmodified AWS SDK code reaches the cloud by its names:

    AWS_ENDPOINT_URL_DYNAMODB, _EC2, _LAMBDA   the cloud's endpoints, e.g. http://dynamodb.us-east-1.cloud.test:8000
    AWS_ENDPOINT_URL                           every other service: a name the zone does not have, so an SDK call to
                                               a service the cloud does not model fails here, on loopback
    AWS_REGION, AWS_DEFAULT_REGION             us-east-1
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   throwaway credentials (a session token, a profile, the instance
                                               metadata service and the user's AWS config files are kept out)
    AWS_PROFILE, AWS_CONFIG_FILE               with --assume-role instead: a profile that assumes a role through the
                                               cloud's STS (boto3's own assume-role provider), the throwaway keys
                                               its source profile's, so the program's credentials come from STS
    PYTHONPATH                                 scenarios/guest/app_hook first: its `sitecustomize` makes a program
                                               resolve the cloud's names through the shared resolver
    CASCADESIM_RESOLVER, _ZONE, _APP_DIR, _CLOCK   what that hook reads (scenarios/guest/app_hook/cascadesim_names.py)

The run ends when the program ends (its exit status is the run's), or at the scenario's end, when the program is
stopped as on Ctrl-C: SIGINT to its process group, SIGKILL if it is still there 7 s later.
"""

from __future__ import annotations

import os
import shlex
import shutil
import time
from pathlib import Path

import anyio
import dns
from anyio.abc import TaskStatus

from scenarios.run.locust_run import stop_all
from scenarios.run.visitor import ProgramRun
from services.event_kinds import EventKind
from services.events import EventLog
from services.reaper import REAPER
from services.topology.cloud import Cloud

HOOK_DIR = Path(__file__).resolve().parent / "app_hook"
REGION = "us-east-1"
NOT_MODELLED = "http://not-modelled.cloud.test"
# Neither is a real key: the cloud checks no signature, and nothing here may reach real AWS with a user's own.
THROWAWAY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIACASCADESIMEXEC00", "AWS_SECRET_ACCESS_KEY": "cascadesim-throwaway"}
KEPT_OUT = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


class ProgramNotFound(Exception):
    """The command names no executable file; `status` is the one a shell would exit with (127, or 126 for a file
    that cannot be executed)."""

    def __init__(self, message: str, status: int = 127) -> None:
        super().__init__(message)
        self.status = status


ROLE_PROFILE = "cascadesim-role"
DEFAULT_ROLE = "arn:aws:iam::000000000000:role/cascadesim-app"


class Program:
    """A command to run, as the user wrote it after `--`; with `role`, its credentials come from assuming that role
    through the cloud's STS."""

    def __init__(self, argv: tuple[str, ...], role: str | None = None) -> None:
        self.argv = argv
        self.role = role
        self.run = ProgramRun(argv)

    def check(self) -> None:
        """Raises ProgramNotFound when the command cannot be started at all."""
        if not self.argv:
            raise ProgramNotFound("no command given after --")
        name = self.argv[0]
        if shutil.which(name) is None:
            if os.sep in name and os.path.isfile(name):  # a shell would say "Permission denied" and exit 126
                raise ProgramNotFound(
                    f"{name!r} is a file but not executable (chmod +x it, or run it with python)", 126
                )
            raise ProgramNotFound(f"no such command: {name!r} (not an executable file, nor found on PATH)")

    async def visit(self, cloud: Cloud, directory: Path, events: EventLog) -> None:
        """Run the program from the cloud's readiness to its exit, or until the run's end stops it."""
        clock = cloud_clock(anyio.current_time() - events.now())
        env = program_environment(cloud.endpoints(), cloud.dns.settings.resolver, directory, clock)
        if self.role is not None:
            env = role_environment(env, self.role, directory)
        command = shlex.join(self.argv)
        events.emit(EventKind.PROGRAM_STARTED, "program", f"started: {command}", command=list(self.argv))
        try:
            await run_program(self, env, self.run)
        finally:
            self.run.ended = events.now()
            if self.run.status is not None:
                events.emit(
                    EventKind.PROGRAM_EXITED,
                    "program",
                    f"exited with status {self.run.status}: {command}",
                    status=self.run.status,
                )


def aws_environment(endpoints: dict[str, str], zone: str = "cloud.test") -> dict[str, str | None]:
    """The variables that point the AWS SDK at the cloud (None: the variable must be unset). An endpoint variable
    inherited for another service (AWS_ENDPOINT_URL_S3, say) would beat AWS_ENDPOINT_URL and send that service's
    calls elsewhere, so it is unset; a proxy would take the cloud's calls off loopback, so the zone bypasses it."""
    env: dict[str, str | None] = dict.fromkeys(KEPT_OUT)
    env |= dict.fromkeys(name for name in os.environ if name.startswith("AWS_ENDPOINT_URL_"))
    env |= {f"AWS_ENDPOINT_URL_{service.upper()}": url for service, url in endpoints.items()}
    for name in ("NO_PROXY", "no_proxy"):
        env[name] = ",".join(filter(None, [os.environ.get(name), f".{zone}"]))
    env |= THROWAWAY_CREDENTIALS
    env |= {
        "AWS_ENDPOINT_URL": NOT_MODELLED,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return env


def role_environment(env: dict[str, str], role: str, directory: Path) -> dict[str, str]:
    """`env` with the program's credentials coming from an AssumeRole of `role` at the cloud's STS
    (AWS_ENDPOINT_URL_STS): a config file in the run directory whose profile assumes the role, its source profile
    holding the throwaway keys. The keys leave the environment, where botocore would take them first."""
    config = directory / "aws-config"
    config.write_text(
        f"[profile {ROLE_PROFILE}]\n"
        f"role_arn = {role}\n"
        "source_profile = cascadesim-source\n"
        "role_session_name = cascadesim-exec\n"
        f"region = {REGION}\n\n"
        "[profile cascadesim-source]\n"
        f"aws_access_key_id = {THROWAWAY_CREDENTIALS['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {THROWAWAY_CREDENTIALS['AWS_SECRET_ACCESS_KEY']}\n"
    )
    env = {name: value for name, value in env.items() if name not in THROWAWAY_CREDENTIALS}
    return env | {"AWS_PROFILE": ROLE_PROFILE, "AWS_CONFIG_FILE": str(config)}


def program_environment(
    endpoints: dict[str, str], resolver: tuple[str, int], directory: Path, clock: str, zone: str = "cloud.test"
) -> dict[str, str]:
    """The program's environment: this process's, with the cloud's endpoints, names and throwaway credentials."""
    env = dict(os.environ)
    for name, value in aws_environment(endpoints, zone).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    env |= {
        "PYTHONPATH": os.pathsep.join([str(HOOK_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "CASCADESIM_RESOLVER": f"{resolver[0]}:{resolver[1]}",
        "CASCADESIM_ZONE": zone,
        "CASCADESIM_APP_DIR": str(directory),
        "CASCADESIM_CLOCK": clock,
        "CASCADESIM_DNSPYTHON": str(_dnspython_alone(directory)),
    }
    return env


def _dnspython_alone(directory: Path) -> Path:
    """A directory holding only cascadesim's dnspython, for a program whose interpreter has none (the hook adds it
    to the end of that program's path only then)."""
    alone = directory / ".dnspython"
    alone.mkdir(parents=True, exist_ok=True)
    link = alone / "dns"
    if not link.exists():
        link.symlink_to(Path(dns.__file__).resolve().parent, target_is_directory=True)
    return alone


def cloud_clock(run_start: float) -> str:
    """CASCADESIM_CLOCK for a process of this machine: the event loop's clock is time.perf_counter() give or take an
    offset (both are CLOCK_MONOTONIC on Linux), measured here, and the run began at `run_start` on it."""
    return f"{anyio.current_time() - time.perf_counter()!r} {run_start!r}"


def exit_status(returncode: int) -> int:
    """A shell's reading of a return code: a death by signal N is 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


async def run_program(
    program: Program,
    env: dict[str, str],
    run: ProgramRun,
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Run the program until it exits, or until this task is cancelled and it has been stopped; `run.status` is
    then its exit status as a shell reads it."""
    process = await anyio.open_process(
        list(program.argv),
        env=env,
        stdin=None,  # the program's streams are the terminal's, as a shell would leave them
        stdout=None,
        stderr=None,
        start_new_session=True,  # Ctrl-C reaches us; we stop the program ourselves
    )
    run.pids.append(process.pid)
    REAPER.watch(process.pid)  # stopped even if this runner is killed hard
    started = anyio.current_time()
    run.stopped = True
    try:
        task_status.started()
        await process.wait()
        run.stopped = False
    finally:
        run.seconds = anyio.current_time() - started
        with anyio.CancelScope(shield=True):
            await stop_all([process])  # its process group: whatever it started goes with it
            REAPER.forget(process.pid)
        if process.returncode is not None:  # stop_all has waited for it
            run.status = exit_status(process.returncode)
