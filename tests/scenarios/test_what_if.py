"""What-if variants: operators who act on what they see, AWS's fixes as settings, and what-if files' errors."""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path

import pytest

from scenarios.config.schema import OperatorAction, Scenario, ScenarioError, for_live, load_scenario, parse_scenario
from scenarios.config.what_if import load_what_if
from services.event_kinds import EventKind, OperatorKind
from tests.helpers import CLI, VirtualRun, changed, of_kind, run_virtual, shipped


def reacting(scenario: Scenario, **timing: dict[str, object]) -> Scenario:
    """`scenario` with its operator actions timed as `timing` says, by kind (e.g. restore_dns={"after": ...})."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    for action in data["operator"]:
        if action["kind"] in timing:
            action.pop("at", None)
            action |= timing[action["kind"]]
    return parse_scenario(data, "test")


# cascade-operators.toml, its operators acting on events: DNS restored 90 s after the record empties (if it still
# is), DWFM throttled and restarted 40 s after it stops progressing (if it still holds fewer leases than droplets).
ON_EVENTS = {
    "restore_dns": {"after": "record_emptied", "delay": 90, "when": "record_empty"},
    "throttle_dwfm": {"after": "dwfm_no_progress", "delay": 40, "when": "dwfm_stalled"},
    "restart_dwfm": {"after": "dwfm_no_progress", "delay": 40, "when": "dwfm_stalled"},
    "restart_poller": {"after": "poller_stuck", "delay": 200, "when": "poller_stuck"},
}


@cache
def run(variant: str) -> VirtualRun:
    base = reacting(shipped("cascade-operators"), **ON_EVENTS)
    if variant == "enactors-fixed":
        base = changed(base, enactors={"variant": "fixed", "refuse_empty": True})
    if variant == "dwfm-admission":
        base = changed(base, ec2={"dwfm_max_queue": 30})
    return run_virtual(base)


def first(run: VirtualRun, kind: EventKind) -> float:
    return next(e.t for e in run.events.events if e.kind == kind)


def actions(run: VirtualRun) -> dict[str, float]:
    return {str(e.data["action"]): e.t for e in of_kind(run.events, EventKind.OPERATOR_ACTION)}


def test_operators_act_a_delay_after_what_they_see() -> None:
    """Each action comes its delay after the first event of its kind, and the cascade plays out as with fixed
    times: every lease back after the throttle and restart."""
    baseline = run("as-it-happened")
    taken = actions(baseline)
    assert taken[OperatorKind.RESTORE_DNS] == pytest.approx(first(baseline, EventKind.RECORD_EMPTIED) + 90, abs=1e-6)
    collapse = first(baseline, EventKind.DWFM_NO_PROGRESS)
    assert taken[OperatorKind.THROTTLE_DWFM] == pytest.approx(collapse + 40, abs=1e-6)
    assert taken[OperatorKind.RESTART_DWFM] == pytest.approx(collapse + 40, abs=1e-6)
    assert taken[OperatorKind.RESTART_POLLER] == pytest.approx(first(baseline, EventKind.POLLER_STUCK) + 200, abs=1e-6)
    assert first(baseline, EventKind.LEASES_RECOVERED) > taken[OperatorKind.RESTART_DWFM]
    assert not of_kind(baseline.events, EventKind.OPERATOR_SKIPPED)


def test_with_the_enactors_fixed_nothing_empties_and_nobody_acts() -> None:
    """The same slow Enactor and churning Planner against the fixed Enactors with the safeguard: the record never
    empties, so no lease is lost, no restore, no DWFM throttle (their events never come)."""
    fixed = run("enactors-fixed")
    assert not of_kind(fixed.events, EventKind.RECORD_EMPTIED, EventKind.LEASES_EXPIRING, EventKind.DWFM_NO_PROGRESS)
    assert actions(fixed) == {}
    assert of_kind(fixed.events, EventKind.APPLY_SKIPPED)  # the race was there: the fixed Enactors refused it


def test_dwfm_admission_keeps_dwfm_from_collapsing() -> None:
    """DWFM admitting lease work by its queue's size re-establishes every lease once DNS is back: no collapse, and
    so no throttle or restart; the restore still comes (the DNS phase is not this fix's)."""
    admitted = run("dwfm-admission")
    assert of_kind(admitted.events, EventKind.LEASES_EXPIRING)
    assert not of_kind(admitted.events, EventKind.DWFM_NO_PROGRESS)
    assert set(actions(admitted)) == {OperatorKind.RESTORE_DNS, OperatorKind.RESTART_POLLER}
    assert first(admitted, EventKind.LEASES_RECOVERED) < first(admitted, EventKind.RECORD_FILLED) + 60


def test_an_action_whose_condition_no_longer_holds_is_skipped() -> None:
    """restore_dns timed from the record emptying, after an earlier restore repaired it: skipped, and said so."""
    base = shipped("cascade-operators")
    late: OperatorAction = base.operator[0].model_copy(
        update={"at": None, "after": "record_emptied", "delay": 150, "when": "record_empty"}
    )
    twice = changed(base, operator=(*base.operator, late))
    result = run_virtual(twice, duration=200)
    skipped = of_kind(result.events, EventKind.OPERATOR_SKIPPED)
    assert [e.data["action"] for e in skipped] == [OperatorKind.RESTORE_DNS]
    assert len([a for a in actions(result) if a == OperatorKind.RESTORE_DNS]) == 1


def test_the_safeguard_alone_refuses_to_empty_the_record() -> None:
    """The unfixed Enactors still race, but the safeguard refuses the clean-up that would empty the record."""
    race = changed(shipped("dns-race"), enactors={"refuse_empty": True})
    guarded = run_virtual(race)
    assert of_kind(guarded.events, EventKind.EMPTY_REFUSED)
    assert not of_kind(guarded.events, EventKind.RECORD_EMPTIED)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ('kind = "restore_dns"\n', "operator[0].at = None: give either `at` (seconds) or `after`"),
        ('kind = "restore_dns"\nat = 5\nafter = "record_emptied"\n', "operator[0].at = 5.0: give either"),
        ('kind = "restore_dns"\nat = 5\ndelay = 3\n', "operator[0].delay = 3.0: only with `after`"),
        ('kind = "restore_dns"\nafter = "meteor"\n', "operator[0].after = 'meteor': must be one of"),
        ('kind = "restore_dns"\nafter = "record_emptied"\nwhen = "sunny"\n', "operator[0].when = 'sunny': must be"),
    ],
)
def test_an_operator_timing_mistake_is_one_line(tmp_path: Path, action: str, expected: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text('name = "t"\n[[operator]]\n' + action, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == f"{path}: {expected}" or str(caught.value).startswith(f"{path}: {expected}")


def test_live_plays_a_delay_compressed_like_a_time() -> None:
    """Live, an action timed from an event comes delay / live_compression after it."""
    replay = shipped("aws-2025-10-19")
    live = for_live(replay)
    for written, played in zip(replay.operator, live.operator, strict=True):
        assert played.after == written.after and played.delay == pytest.approx(written.delay / 168)


def test_the_shipped_what_if_file_loads_every_variant() -> None:
    """aws-fixes.toml: the baseline first, each fix changing what it says and nothing else."""
    what_if = load_what_if(Path("scenarios/what-if/aws-fixes.toml"))
    names = [v.name for v in what_if.variants]
    assert names[0] == "as-it-happened" and len(names) == len(set(names)) == 8
    by_name = {v.name: v.scenario for v in what_if.variants}
    baseline = by_name["as-it-happened"]
    assert baseline == what_if.base
    assert by_name["enactors-fixed"].enactors.variant == "fixed" and by_name["enactors-fixed"].enactors.refuse_empty
    assert by_name["enactors-fixed"].model_copy(update={"enactors": baseline.enactors}) == baseline
    assert (
        by_name["operators-sooner"].operator[1].after == "dwfm_no_progress"
        and by_name["operators-sooner"].ec2 == baseline.ec2
    )


WHAT_IF = 'scenario = "{scenario}"\n[[variant]]\nname = "base"\nsentence = "As is."\n'


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        (
            '[[variant]]\nname = "x"\nsentence = "s"\nset = { "enactors.varient" = "fixed" }\n',
            "variant 'x': enactors.varient: unknown key",
        ),
        (
            '[[variant]]\nname = "x"\nsentence = "s"\nset = { "operator[9].delay" = 5 }\n',
            "variant 'x': operator[9].delay: no operator[9] (the scenario has 6 entries)",
        ),
        (
            '[[variant]]\nname = "x"\nsentence = "s"\nset = { "operator[1].delay" = "soon" }\n',
            "variant 'x': operator[1].delay = 'soon': must be a number",
        ),
        (
            '[[variant]]\nname = "x"\nsentence = "s"\nset = { "ec2.dwfm_max_queue" = 0 }\n',
            "variant 'x': ec2.dwfm_max_queue = 0: must be at least 1",
        ),
        (
            '[[variant]]\nname = "base"\nsentence = "again"\n',
            "variant 'base': variant[1].name: the name is given twice",
        ),
    ],
)
def test_a_broken_what_if_file_is_one_line_and_runs_nothing(tmp_path: Path, variant: str, expected: str) -> None:
    """An unknown path, a value of the wrong type or out of range, a name given twice: one line naming the file, the
    variant and the field; exit 2; no run directory."""
    path = tmp_path / "w.toml"
    replay = Path("scenarios/aws-2025-10-19.toml").resolve()
    path.write_text(WHAT_IF.format(scenario=replay) + variant, encoding="utf-8")
    out = tmp_path / "runs"
    done = subprocess.run(
        [str(CLI), "compare", str(path), "--virtual", "--out", str(out)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {path}: {expected}"
    assert not out.exists()


def test_compare_runs_a_what_if_file_and_sets_each_variant_beside_the_baseline(tmp_path: Path) -> None:
    """`compare WHAT-IF --virtual` on the short cascade: one run per variant, comparison.json with every variant's
    customer view and its differences from the baseline, comparison.html with the what-if tables and chart."""
    scenario = tmp_path / "cascade.toml"
    scenario.write_text(
        Path("scenarios/cascade-operators.toml").read_text(encoding="utf-8")
        + "\n[load]\nmix = { dynamodb = 2, ec2 = 1, lambda = 1 }\nstages = [{ until = 300, users = 8 }]\n",
        encoding="utf-8",
    )
    path = tmp_path / "what-if.toml"
    path.write_text(
        f'scenario = "{scenario.name}"\nquestion = "Would the fixed Enactors have spared the cascade?"\n'
        '[[variant]]\nname = "as-is"\nsentence = "As written."\n'
        '[[variant]]\nname = "fixed"\nsentence = "The fixed Enactors."\nset = { "enactors.variant" = "fixed" }\n',
        encoding="utf-8",
    )
    out = tmp_path / "runs"
    done = subprocess.run(
        [str(CLI), "compare", str(path), "--virtual", "--out", str(out), "--jobs", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (root,) = out.iterdir()
    summary = json.loads((root / "comparison.json").read_text(encoding="utf-8"))
    assert summary["baseline"] == "as-is" and [v["name"] for v in summary["variants"]] == ["as-is", "fixed"]
    as_is, fixed = (v["customers"] for v in summary["variants"])
    launches = {s["kind"]: s for s in as_is["services"]}["ec2"]
    assert launches["error_s"] > 30  # the cascade: launches fail while the leases are lost
    assert all(s["error_s"] == 0 for s in fixed["services"])
    assert summary["variants"][0]["differences"] == []
    assert any(line.startswith("EC2 launches: ") for line in summary["variants"][1]["differences"])
    page = (root / "comparison.html").read_text(encoding="utf-8")
    assert "Would the fixed Enactors have spared the cascade?" in page and "Error windows per variant" in page
    assert "EC2 launches" in done.stdout


def test_validate_checks_every_variant_of_a_what_if_file(tmp_path: Path) -> None:
    """`cascadesim validate` on the shipped what-if file: ok, naming its variants; on a broken one, the same line
    compare gives, exit 2."""
    done = subprocess.run(
        [str(CLI), "validate", "scenarios/what-if/aws-fixes.toml"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "8 variants" in done.stdout
    path = tmp_path / "w.toml"
    replay = Path("scenarios/aws-2025-10-19.toml").resolve()
    path.write_text(WHAT_IF.format(scenario=replay) + '[[variant]]\nname = "base"\nsentence = "again"\n')
    done = subprocess.run([str(CLI), "validate", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {path}: variant 'base': variant[1].name: the name is given twice"
