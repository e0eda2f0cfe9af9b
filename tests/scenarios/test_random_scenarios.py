"""Random valid scenarios (tests/scenarios/random_scenarios.py): each is either refused at validation with one line
naming the file and the field, or runs in virtual time to its end and leaves a whole run directory (events, time
series, KPIs, meta, report; not marked INCOMPLETE) with no failure, no internal_error event and no hang (60 s of
wall time at most). A few in the default suite; 500 under `slow`. A scenario that broke this once is kept in
tests/scenarios/generated/ and run every time."""

from __future__ import annotations

import json
import signal
import tomllib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings

from scenarios.config.problems import ScenarioError
from scenarios.config.schema import parse_scenario
from scenarios.run.execute import INCOMPLETE, RunOptions, execute
from services.event_kinds import EventKind
from tests.scenarios.random_scenarios import combination, scenarios

KEPT = Path(__file__).parent / "generated"
FILES = ("events.jsonl", "timeseries.csv", "kpis.json", "meta.json", "report.html", "scenario.toml")
REACHED: Counter[tuple[Any, ...]] = Counter()
OUTCOMES: Counter[str] = Counter()


class Hung(Exception):
    pass


@contextmanager
def at_most(seconds: int) -> Iterator[None]:
    def hung(signum: int, frame: object) -> None:
        raise Hung(f"no end after {seconds} s of wall time")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check(data: dict[str, Any], directory: Path, origin: str = "generated.toml") -> str:
    """Refused in one line, or run whole: returns which."""
    try:
        scenario = parse_scenario(data, origin)
    except ScenarioError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(f"{origin}: "), message
        hypothesis.event(f"refused: {message.removeprefix(origin + ': ').split(' = ')[0].split(':')[0]}")
        return "refused"
    with at_most(60):
        result = execute(scenario, directory, RunOptions(virtual=True))
    assert not result.problems, result.problems
    assert not (directory / INCOMPLETE).exists()
    for name in FILES:
        assert (directory / name).exists(), name
    events = [json.loads(line) for line in (directory / "events.jsonl").read_text().splitlines()]
    internal = [e for e in events if e["kind"] in (EventKind.INTERNAL_ERROR, EventKind.RUN_FAILED)]
    assert not internal, internal[:2]
    assert json.loads((directory / "kpis.json").read_text())["kpis"]
    return "ran"


def run_many(data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> None:
    directory = tmp_path_factory.mktemp("generated") / "run"
    try:
        outcome = check(data, directory)
        OUTCOMES[outcome] += 1
        hypothesis.event(outcome)
    except BaseException:
        print("\nthe scenario, as TOML-able JSON:\n" + json.dumps(data, indent=1))
        raise
    REACHED[combination(data)] += 1


SETTINGS: dict[str, Any] = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
}


@settings(max_examples=12, **SETTINGS)
@given(data=scenarios())
def test_a_few_random_scenarios_are_refused_in_one_line_or_run_whole(
    data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    run_many(data, tmp_path_factory)


@pytest.mark.slow
@settings(max_examples=500, **SETTINGS)
@given(data=scenarios())
def test_random_scenarios_500(data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> None:
    run_many(data, tmp_path_factory)


@pytest.mark.slow
def test_random_scenarios_report() -> None:
    """Not a check: prints what the runs in this process reached (pytest -s), for the notes."""
    sections = {c[0] for c in REACHED}
    faults = {f for c in REACHED for f in c[4]}
    print(
        f"\nrandom scenarios: {dict(OUTCOMES)}; distinct combinations reached: {len(REACHED)} (section sets "
        f"{len(sections)}, fault kinds {len(faults)}, with an NLB {sum(n for c, n in REACHED.items() if c[2])}, "
        f"with STS {sum(n for c, n in REACHED.items() if c[3])})"
    )


@pytest.mark.parametrize("path", sorted(KEPT.glob("*.toml")), ids=lambda p: p.stem)
def test_kept_scenarios_that_once_broke(path: Path, tmp_path: Path) -> None:
    assert check(tomllib.loads(path.read_text()), tmp_path / "run", str(path)) in ("refused", "ran")
