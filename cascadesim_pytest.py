"""cascadesim's pytest plugin as pytest loads it (entry point `pytest11`): the `cascadesim` marker and the
`cascadesim_cloud` fixture; scenarios/guest/pytest_plugin.py does the work.

    @pytest.mark.cascadesim("scenarios/dns-race.toml")  # also: policy=, compress=, load=, out=, free_ports=
    def test_reads_come_back(cascadesim_cloud): ...

A module of its own, at the top level and uniquely named: pytest loads it in every run of an environment where
cascadesim is installed, so loading it imports nothing else (not cascadesim's packages, whose names, `scenarios`
say, a project of the user's may have too; not pydantic). Only a test that asks for the fixture does, and only the
fixture changes anything, for that test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

MARKER = "cascadesim"
RUN_DIRECTORY = pytest.StashKey[Path]()  # the test's run directory, once its cloud has started
CALL_FAILED = pytest.StashKey[bool]()  # whether the test itself (its call phase) failed


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(scenario, *, policy=None, compress=None, load=False, out='runs', free_ports=True): the scenario "
        "whose live cloud the cascadesim_cloud fixture runs for the test (on ports the kernel picks, unless "
        "free_ports=False)",
    )


@pytest.fixture
def cascadesim_cloud(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The live cloud of the scenario named by the test's `cascadesim` marker, for the length of the test: a
    scenarios.guest.pytest_plugin.CloudUnderTest."""
    from scenarios.guest.pytest_plugin import run_cloud

    yield from run_cloud(request, RUN_DIRECTORY, CALL_FAILED)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Note whether the test failed (its run's meta.json says so), and a failing test that ran a cloud says where
    its run directory and report are."""
    report: Any = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = bool(report.failed)
    directory = item.stash.get(RUN_DIRECTORY, None)
    if directory is not None and report.failed:
        report.sections.append(("cascadesim", f"run directory: {directory} (report: {directory / 'report.html'})"))
    return report  # type: ignore[no-any-return]
