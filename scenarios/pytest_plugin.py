"""cascadesim's pytest plugin: a scenario's live cloud for the length of a test, with the cloud's names resolving
through its shared resolver inside the test process.

    import boto3, pytest

    @pytest.mark.cascadesim("scenarios/dns-race.toml")  # also: policy=, compress=, load=, out=, free_ports=
    def test_reads_come_back(cascadesim_cloud):
        dynamodb = boto3.client("dynamodb")  # reaches the cloud: AWS_ENDPOINT_URL_DYNAMODB and co. are set
        ...
        emptied = cascadesim_cloud.await_event("record_emptied", timeout=60)
        filled = cascadesim_cloud.await_event("record_filled", timeout=60)
        assert ... within 30 s of filled.t, on cascadesim_cloud.clock()

The fixture starts the cloud (in a thread of its own, on trio), waits until it is ready, points the AWS SDK's
variables at it (endpoints, region, throwaway credentials), and routes `socket.getaddrinfo` for `*.cloud.test`
through the shared resolver (scenarios/app_hook/cascadesim_names.py). The test is the run's guest: its calls are
counted apart at the nodes and drawn as a series of their own. When the test ends (passed or failed) the run ends,
everything is put back as it was, and the run directory is written with its report; a failing test's report says
where. A test that outlasts the scenario finds the cloud gone.

Registered under pytest's `pytest11` entry point; importing this module changes nothing: only the fixture does, for
the test that asks for it.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from scenarios.execute import RunResult
    from scenarios.program import ProgramRun
    from scenarios.schema import Scenario
    from services.cloud import Cloud
    from services.events import Event, EventLog

READY_TIMEOUT = 30.0  # the cloud listens within a few seconds; past this it is not coming
MARKER = "cascadesim"
RUN_DIRECTORY = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(scenario, *, policy=None, compress=None, load=False, out='runs', free_ports=True): the scenario "
        "whose live cloud the cascadesim_cloud fixture runs for the test (on ports the kernel picks, unless "
        "free_ports=False)",
    )


@dataclass
class CloudUnderTest:
    """What a test gets: the cloud's endpoints, its clock, its events, and where its run is written."""

    scenario: Scenario
    directory: Path
    endpoints: dict[str, str] = field(default_factory=dict)
    _events: list[Event] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)
    _clock: tuple[float, float] = (0.0, 0.0)  # the trio clock's offset from time.perf_counter(), the run's start
    _over: bool = False

    def clock(self) -> float:
        """Seconds since the run began, on the clock the cloud's events are stamped with."""
        offset, start = self._clock
        return time.perf_counter() + offset - start

    @property
    def events(self) -> list[Event]:
        """The run's events so far (not the DNS control plane's routine steps)."""
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

    def _note(self, event: Event) -> None:
        with self._arrived:
            self._events.append(event)
            self._arrived.notify_all()

    def _end(self) -> None:
        with self._arrived:
            self._over = True
            self._arrived.notify_all()


class _TestGuest:
    """The test, as the run's guest: it tells the test thread the cloud is ready, then stays until told to leave."""

    def __init__(self, under_test: CloudUnderTest, name: str) -> None:
        from scenarios.program import ProgramRun

        self.run: ProgramRun = ProgramRun(("pytest", name))
        self.under_test = under_test
        self.ready = threading.Event()
        self.token: Any = None
        self.resolver: tuple[str, int] = ("127.0.0.1", 0)
        self._leave: Any = None

    async def visit(self, cloud: Cloud, directory: Path, events: EventLog) -> None:
        import trio

        from services.event_kinds import EventKind

        self._leave = trio.Event()
        self.token = trio.lowlevel.current_trio_token()
        self.resolver = cloud.dns.settings.resolver
        self.under_test.endpoints = cloud.endpoints()
        self.under_test._clock = (trio.current_time() - time.perf_counter(), trio.current_time() - events.now())
        events.emit(EventKind.PROGRAM_STARTED, "program", f"test started: {self.run.command[1]}")
        started = trio.current_time()
        self.ready.set()
        self.run.stopped = True
        await self._leave.wait()
        self.run.stopped, self.run.seconds, self.run.status = False, trio.current_time() - started, 0
        events.emit(EventKind.PROGRAM_EXITED, "program", f"test ended: {self.run.command[1]}", status=0)

    def leave(self) -> None:
        """Called from the test's thread: the test is over, so is the run."""
        if self.token is None or self._leave is None:
            return
        import trio

        with contextlib.suppress(trio.RunFinishedError):  # the run had already ended (the scenario's end)
            trio.from_thread.run_sync(self._leave.set, trio_token=self.token)


@pytest.fixture
def cascadesim_cloud(request: pytest.FixtureRequest) -> Iterator[CloudUnderTest]:
    """The live cloud of the scenario named by the test's `cascadesim` marker, for the length of the test."""
    from scenarios.app_hook import cascadesim_names
    from scenarios.execute import RunOptions, execute, run_directory, stamp_now
    from scenarios.program import aws_environment

    scenario = _scenario(request)
    directory = _unused(run_directory(_out(request), scenario, stamp_now()), request.node.name)
    request.node.stash[RUN_DIRECTORY] = directory
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
    if guest.token is None:  # the run ended, or hung, before the cloud was ready
        _stop(guest, thread)
        _raise(errors)
        pytest.fail(f"cascadesim: the cloud of {scenario.name} did not start: {_problems(results)}", pytrace=False)
    names = cascadesim_names.CloudNames(guest.resolver, clock=under_test.clock, log_dir=str(directory / "program"))
    saved = {name: os.environ.get(name) for name in aws_environment(under_test.endpoints)}
    _set_environment(aws_environment(under_test.endpoints))
    cascadesim_names.install(names)
    try:
        yield under_test
    finally:
        cascadesim_names.uninstall()
        names.close()
        _set_environment(saved)
        _stop(guest, thread)
    _raise(errors)
    if results and results[0].problems:
        pytest.fail(f"cascadesim: the run of {scenario.name} failed: {_problems(results)}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failing test that ran a cloud says where its run directory and report are."""
    report: Any = yield
    directory = item.stash.get(RUN_DIRECTORY, None)
    if directory is not None and report.failed:
        report.sections.append(("cascadesim", f"run directory: {directory} (report: {directory / 'report.html'})"))
    return report  # type: ignore[no-any-return]


def _scenario(request: pytest.FixtureRequest) -> Scenario:
    from scenarios.cloud_settings import live_problem
    from scenarios.schema import ScenarioError, for_live, load_scenario

    marker = request.node.get_closest_marker(MARKER)
    if marker is None or not marker.args:
        raise pytest.UsageError(
            f"{request.node.nodeid}: the cascadesim_cloud fixture needs @pytest.mark.{MARKER}(SCENARIO_FILE)"
        )
    path = Path(marker.args[0])
    if not path.is_absolute() and not path.exists():
        beside = Path(str(request.node.path)).parent / path
        path = beside if beside.exists() else path
    try:
        scenario = load_scenario(path)
        changes: dict[str, Any] = {}
        if marker.kwargs.get("policy") is not None:
            from scenarios.schema import parse_scenario

            data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True) | {
                "policy": marker.kwargs["policy"]
            }
            scenario = parse_scenario(data, str(path))
        if marker.kwargs.get("compress") is not None:
            changes["live_compression"] = float(marker.kwargs["compress"])
        if not marker.kwargs.get("load", False):
            changes["load"] = None
    except ScenarioError as exc:
        raise pytest.UsageError(f"{request.node.nodeid}: {exc}") from None
    scenario = for_live(scenario.model_copy(update=changes))
    problem = live_problem(scenario)
    if problem is not None:
        raise pytest.UsageError(f"{request.node.nodeid}: {path}: {problem}")
    if marker.kwargs.get("free_ports", True):
        from scenarios.free_ports import on_free_ports

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
