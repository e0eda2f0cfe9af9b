"""What the pytest plugin's fixture does (cascadesim_pytest.py is what pytest loads): a scenario's live cloud for
the length of a test, with the cloud's names resolving through its shared resolver inside the test process.

    import boto3, pytest

    @pytest.mark.cascadesim("scenarios/dns-race.toml")  # also: policy=, compress=, load=, out=, free_ports=
    def test_reads_come_back(cascadesim_cloud):
        dynamodb = boto3.client("dynamodb")  # reaches the cloud: AWS_ENDPOINT_URL_DYNAMODB and co. are set
        ...
        emptied = cascadesim_cloud.await_event("record_emptied", timeout=60)
        filled = cascadesim_cloud.await_event("record_filled", timeout=60)
        assert ... within 30 s of filled.t, on cascadesim_cloud.clock()

The fixture starts the cloud (in a thread of its own, on the live event loop), waits until it is ready, points the
AWS SDK's variables at it (endpoints, region, throwaway credentials, the zone past any proxy), gives boto3 a fresh
default session, and routes `socket.getaddrinfo` for `*.cloud.test` through the shared resolver
(scenarios/guest/app_hook/cascadesim_names.py). The test is the run's guest: its calls are counted apart at the
nodes and drawn as a series of their own. When the test ends (passed or failed) the run ends, everything is put
back as it was, and the run directory is written with its report; a failing test's report says where. A test
that outlasts the scenario finds the cloud gone.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from scenarios.guest.app_hook import cascadesim_names
from scenarios.guest.program import aws_environment
from scenarios.run.execute import RunOptions, RunResult, execute, run_directory, stamp_now
from scenarios.run.visitor import ProgramRun
from services.event_kinds import EventKind
from services.net.addresses import IN_PROCESS_PEER

if TYPE_CHECKING:
    from scenarios.config.schema import Scenario
    from services.events import Event, EventLog
    from services.topology.cloud import Cloud

READY_TIMEOUT = 30.0  # the cloud listens within a few seconds; past this it is not coming
LEAVE_POLL = 0.05  # how often the run looks whether the test has left (its end is stamped to this)
MARKER = "cascadesim"
MARKER_OPTIONS = ("policy", "compress", "load", "out", "free_ports")


class CloudUnderTest:
    """What a test gets: the cloud's endpoints, its clock, its events, and where its run is written."""

    def __init__(self, scenario: Scenario, directory: Path) -> None:
        self.scenario = scenario
        self.directory = directory
        self.endpoints: dict[str, str] = {}
        self._events: list[Event] = []
        self._arrived = threading.Condition()
        self._clock = (0.0, 0.0)  # the event loop clock's offset from time.perf_counter(), the run's start on it
        self._over = False

    def clock(self) -> float:
        """Seconds since the run began, on the clock the cloud's events are stamped with."""
        offset, start = self._clock
        return time.perf_counter() + offset - start

    @property
    def events(self) -> list[Event]:
        """The run's events so far, every one (the DNS control plane's steps too)."""
        with self._arrived:
            return list(self._events)

    def await_event(self, kind: str, *, timeout: float = 60.0, since: float = 0.0) -> Event:
        """The first event of `kind` (an EventKind value, e.g. "record_emptied") at or after `since` on the run's
        clock, waiting up to `timeout` wall seconds for it. Raises TimeoutError, or RuntimeError once the run has
        ended without it."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = next((e for e in self._events if e.kind == kind and e.t >= since), None)
                if found is not None:
                    return found
                if self._over:
                    raise RuntimeError(f"the run ended at {self.clock():.1f} s without a {kind!r} event")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {kind!r} event within {timeout:g} s (the run is at {self.clock():.1f} s)")
                self._arrived.wait(left)

    def __repr__(self) -> str:
        return f"CloudUnderTest({self.scenario.name!r}, {self.directory})"

    def _note(self, event: Event) -> None:
        with self._arrived:
            self._events.append(event)
            self._arrived.notify_all()

    def _end(self) -> None:
        with self._arrived:
            self._over = True
            self._arrived.notify_all()


class _TestGuest:
    """The test, as the run's guest: it tells the test's thread the cloud is ready, then stays until told to
    leave. Leaving can come first (a cloud slower than READY_TIMEOUT), and the run can end first (the scenario's
    end), so the test's thread only sets a flag that the run looks at: it never waits on the run's loop."""

    def __init__(self, under_test: CloudUnderTest, test: str) -> None:
        self.test = test
        self.run = ProgramRun(("pytest", test))
        self.under_test = under_test
        self.ready = threading.Event()
        self.resolver: tuple[str, int] = IN_PROCESS_PEER
        self.failed = False  # set by the test's thread before it leaves
        self._leave = threading.Event()

    async def visit(self, cloud: Cloud, directory: Path, events: EventLog) -> None:
        if self._leave.is_set():  # the test gave up waiting before the cloud was ready
            return
        self.resolver = cloud.dns.settings.resolver
        self.under_test.endpoints = cloud.endpoints()
        self.under_test._clock = (anyio.current_time() - time.perf_counter(), anyio.current_time() - events.now())
        events.emit(EventKind.PROGRAM_STARTED, "program", f"test started: {self.test}")
        started = anyio.current_time()
        self.ready.set()
        self.run.stopped = True
        while not self._leave.is_set():  # noqa: ASYNC110 (the flag is set from another thread)
            await anyio.sleep(LEAVE_POLL)
        self.run.stopped, self.run.seconds, self.run.ended = False, anyio.current_time() - started, events.now()
        self.run.status = 1 if self.failed else 0
        outcome = "failed" if self.failed else "passed"
        events.emit(EventKind.PROGRAM_EXITED, "program", f"test {outcome}: {self.test}", status=self.run.status)

    def leave(self) -> None:
        """Called from the test's thread: the test is over, so is the run."""
        self._leave.set()


def run_cloud(
    request: pytest.FixtureRequest, run_directory_key: pytest.StashKey[Path], failed_key: pytest.StashKey[bool]
) -> Iterator[CloudUnderTest]:
    """The fixture's body: start the cloud, point this process at it, yield, put everything back, end the run."""
    scenario = _scenario(request)
    directory = _unused(run_directory(_out(request), scenario, stamp_now()), request.node.name)
    request.node.stash[run_directory_key] = directory
    under_test = CloudUnderTest(scenario, directory)
    guest = _TestGuest(under_test, request.node.nodeid)
    results: list[RunResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(
                execute(scenario, directory, RunOptions(), sinks=(under_test._note,), guest=guest, signals=False)
            )
        except BaseException as exc:  # handed to the test's thread, which raises it
            errors.append(exc)
        finally:
            under_test._end()
            guest.ready.set()

    thread = threading.Thread(target=run, name=f"cascadesim {scenario.name}", daemon=True)
    thread.start()
    guest.ready.wait(READY_TIMEOUT)
    if not under_test.endpoints:  # the run ended, or is still starting, after READY_TIMEOUT
        _stop(guest, thread)
        _raise(errors)
        pytest.fail(f"cascadesim: the cloud of {scenario.name} did not start: {_problems(results)}", pytrace=False)
    names = cascadesim_names.CloudNames(guest.resolver, clock=under_test.clock, log_dir=str(directory / "program"))
    wanted = aws_environment(under_test.endpoints)
    saved = {name: os.environ.get(name) for name in wanted}
    boto3: Any = sys.modules.get("boto3")  # its default session keeps the credentials it first found: start afresh
    session = boto3.DEFAULT_SESSION if boto3 is not None else None
    _set_environment(wanted)
    if boto3 is not None:
        boto3.DEFAULT_SESSION = None
    cascadesim_names.install(names)
    try:
        yield under_test
    finally:
        cascadesim_names.uninstall()
        names.close()
        _set_environment(saved)
        if boto3 is not None:
            boto3.DEFAULT_SESSION = session
        guest.failed = request.node.stash.get(failed_key, False)
        _stop(guest, thread)
    _raise(errors)
    if results and results[0].problems:
        pytest.fail(f"cascadesim: the run of {scenario.name} failed: {_problems(results)}", pytrace=False)


def _scenario(request: pytest.FixtureRequest) -> Scenario:
    from scenarios.config.cloud_settings import live_problem
    from scenarios.config.schema import ScenarioError, for_live, load_scenario, parse_scenario

    marker = request.node.get_closest_marker(MARKER)
    where = request.node.nodeid
    if marker is None or len(marker.args) != 1:
        raise pytest.UsageError(f"{where}: the cascadesim_cloud fixture needs @pytest.mark.{MARKER}(SCENARIO_FILE)")
    unknown = sorted(set(marker.kwargs) - set(MARKER_OPTIONS))
    if unknown:
        raise pytest.UsageError(
            f"{where}: @pytest.mark.{MARKER}: unknown option {unknown[0]!r} (known: {', '.join(MARKER_OPTIONS)})"
        )
    path = Path(marker.args[0])
    if not path.is_absolute() and not path.exists():
        beside = Path(str(request.node.path)).parent / path
        path = beside if beside.exists() else path
    options = marker.kwargs
    try:
        scenario = load_scenario(path)
        if options.get("policy") is not None:
            data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True) | {"policy": options["policy"]}
            scenario = parse_scenario(data, str(path))
    except ScenarioError as exc:
        raise pytest.UsageError(f"{where}: {exc}") from None
    changes: dict[str, Any] = {}
    if options.get("compress") is not None:
        compress = options["compress"]
        if isinstance(compress, bool) or not isinstance(compress, int | float) or not 1 <= compress <= 10_000:
            raise pytest.UsageError(f"{where}: @pytest.mark.{MARKER}: compress = {compress!r}: must be 1 to 10000")
        changes["live_compression"] = float(compress)
    if not options.get("load", False):
        changes["load"] = None
    scenario = for_live(scenario.model_copy(update=changes))
    problem = live_problem(scenario)
    if problem is not None:
        raise pytest.UsageError(f"{where}: {path}: {problem}")
    if options.get("free_ports", True):
        from scenarios.config.free_ports import on_free_ports

        scenario = on_free_ports(scenario)
    return scenario


def _out(request: pytest.FixtureRequest) -> Path:
    marker = request.node.get_closest_marker(MARKER)
    out = Path(marker.kwargs.get("out", "runs")) if marker is not None else Path("runs")
    return out if out.is_absolute() else Path(str(request.config.rootpath)) / out


def _unused(directory: Path, test: str) -> Path:
    """The run's directory, named after the test too (several tests may start within one second)."""
    name = f"{directory.name}-{re.sub(r'[^A-Za-z0-9._-]+', '_', test)}"[:200]
    found, n = directory.with_name(name), 1
    while found.exists():
        n += 1
        found = directory.with_name(f"{name}-{n}")
    return found


def _set_environment(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _stop(guest: _TestGuest, thread: threading.Thread) -> None:
    guest.leave()
    thread.join()


def _raise(errors: list[BaseException]) -> None:
    if errors:
        raise RuntimeError("cascadesim: the run failed") from errors[0]


def _problems(results: list[RunResult]) -> str:
    if results and results[0].problems:
        return "; ".join(results[0].problems)
    return f"not ready within {READY_TIMEOUT:g} s"
