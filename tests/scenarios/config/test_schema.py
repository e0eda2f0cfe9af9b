"""Scenario files: the shipped ones validate, and every kind of mistake gets one line naming file and field."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scenarios.config.schema import ScenarioError, load_scenario
from tests.helpers import CLI

SHIPPED = sorted(Path("scenarios").glob("*.toml"))
VALID = 'name = "t"\n'


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_scenario_validates(path: Path) -> None:
    """scenarios/*.toml all load."""
    assert load_scenario(path).name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (VALID + "[dynamodb]\nrouters = 0\n", "dynamodb.routers = 0: must be at least 1"),
        (VALID + "[dynamodb]\nrouters = 'three'\n", "dynamodb.routers = 'three': must be an integer"),
        (VALID + "[dynamodb]\nrouterz = 3\n", "dynamodb.routerz: unknown key"),
        (VALID + "colour = 'red'\n", "colour: unknown key"),
        (VALID + "[enactors]\nvariant = 'aws-2026'\n", "enactors.variant = 'aws-2026': must be one of"),
        (
            VALID + "[[faults]]\nkind = 'enactor_delay'\nenactor = 'A'\nat = 1\nduration = 5\ndelay = -1\n",
            "faults[0].delay = -1: must be greater than 0",
        ),
        (VALID + "[[faults]]\nkind = 'meteor'\nat = 1\n", "faults[0].kind"),
        (
            VALID + "[[faults]]\nkind = 'router_down'\nrouter = 4\nat = 1\nduration = 2\n",
            "faults[0].router = 4: there are only 3 routers",
        ),
        ("seed = 1\n", "name: required but missing"),
        (VALID + "duration = 'long'\n", "duration = 'long': must be a number"),
        (VALID + "live_from = 500\n", "live_from = 500: must come before the end"),
        (VALID + "[dns\n", "not valid TOML"),
    ],
)
def test_mistakes_are_one_line_naming_the_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    """load_scenario raises ScenarioError whose single line starts with the file and names the field."""
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and expected in message and "\n" not in message


@pytest.mark.parametrize(
    "text",
    [VALID + "[dynamodb]\nrouters = 0\n", VALID + "[dynamodb]\nrouterz = 3\n", VALID + "seed = 'x'\n"],
    ids=["impossible-value", "unknown-key", "wrong-type"],
)
def test_the_cli_prints_one_line_and_exits_2(tmp_path: Path, text: str) -> None:
    """`cascadesim validate` (and serve) on a broken file: one line on stderr, exit 2, no traceback."""
    path = tmp_path / "broken.toml"
    path.write_text(text)
    for command in (["validate", str(path)], ["serve", str(path), "--duration", "1"]):
        result = subprocess.run([str(CLI), *command], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ")
        assert "Traceback" not in result.stderr + result.stdout


def test_the_cli_reports_a_missing_file_the_same_way(tmp_path: Path) -> None:
    """A path that does not exist is a one-line error too."""
    result = subprocess.run([str(CLI), "validate", str(tmp_path / "nope.toml")], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.strip() == f"error: {tmp_path / 'nope.toml'}: no such file"


def test_validate_accepts_a_good_file() -> None:
    """A valid scenario: exit 0 and a summary."""
    result = subprocess.run([str(CLI), "validate", "scenarios/dns-race.toml"], capture_output=True, text=True)
    assert result.returncode == 0 and "ok (dns-race" in result.stdout


BROKEN_VARIANTS = [
    ("cascade-live", "droplets = 100", "droplets = 0", "ec2.droplets = 0: must be at least 1"),
    ("cascade-live", "users = 40", "users = -1", "load.stages[0].users = -1: must be at least 0"),
    ("cascade-live", "mix = { dynamodb = 6", "mix = { dynamo = 6", "load.mix.dynamo = 'dynamo': must be one of"),
    ("cascade-live", 'kind = "restore_dns"', 'kind = "restore_dnz"', "operator[0].kind = 'restore_dnz': must be"),
    ("cascade-live", 'policy = "naive"', 'policy = "nave"', "policy = 'nave': no such policy set"),
    ("cascade-live", "seed = 7", 'seed = "seven"', "seed = 'seven': must be an integer"),
    ("cascade-live", "[lambda]", "[lambdas]", "lambdas: unknown key"),
    ("cascade-live", 'kind = "exponential"', 'kind = "gaussian"', "dynamodb.capacity.service_time.kind"),
    ("cascade-live", "stages = [{ until = 150, users = 40 }]", "stages = []", "load.stages = []: must have"),
    ("cascade-live", "renew_margin = 10", "renew_margin = 40", "ec2.renew_margin = 40.0: must be less than"),
    ("cascade-live", 'enactor = "A"', 'enactor = "D"', "faults[1].enactor = 'D': must be one of"),
    ("cascade-live", "rate = 10\n\n[[operator]]", "rate = 0\n\n[[operator]]", "operator[1].rate = 0: must be greater"),
    (
        "cascade-live",
        "[ec2]",
        '[[faults]]\nkind = "slow_node"\nnode = "router-9"\nat = 1\nfactor = 2\nduration = 5\n\n[ec2]',
        "faults[0].node = 'router-9': there are only 3 routers",
    ),
    ("dns-race", 'variant = "aws-2025"', 'variant = "aws-2024"', "enactors.variant = 'aws-2024': must be one of"),
    ("dns-race", "routers = 3", "routers = 300", "dynamodb.routers = 300: must be at most 254"),
    ("dns-race", "at = 8", "at = -8", "faults[0].at = -8: must be at least 0"),
    ("dns-race", "[planner]", "[planer]", "planer: unknown key"),
    ("dns-race", 'name = "dns-race"', 'name = "dns race!"', "name = 'dns race!': must be letters"),
    ("dns-race", "resolver_port = 5301", "resolver_port = 5300", "dns.resolver_port = 5300: must differ"),
    ("dns-race", "seed = 20251019", "seed = 20251019\nseed = 1", "not valid TOML"),
    (
        "router-outage",
        'kind = "kill_node"\nnode = "router-2"',
        'kind = "router_stop"\nrouter = 2',
        'faults[0].kind = \'router_stop\': no longer exists: write kind = "kill_node" with node = "router-N"',
    ),
    ("router-outage", 'node = "router-2"', 'node = "ec2-api"', "faults[0].node = 'ec2-api': needs an [ec2] section"),
    ("router-outage", 'node = "router-2"', 'node = "dwfm"', "faults[0].node = 'dwfm': must be router-N, nginx-N"),
    (
        "router-outage",
        'node = "router-2"',
        'node = "nginx-2"',
        "faults[0].node = 'nginx-2': needs [dynamodb] load_balancer = \"nginx\"",
    ),
    ("dns-race-nginx", 'node = "nginx-3"', 'node = "nginx-4"', "faults[0].node = 'nginx-4': there are only 3 routers"),
    ("dns-race-nginx", 'load_balancer = "nginx"', 'load_balancer = "haproxy"', "dynamodb.load_balancer = 'haproxy'"),
]


@pytest.mark.parametrize(("name", "old", "new", "expected"), BROKEN_VARIANTS, ids=lambda v: str(v)[:24])
def test_broken_variants_of_the_shipped_scenarios_each_get_one_line_and_exit_2(
    tmp_path: Path, name: str, old: str, new: str, expected: str
) -> None:
    """A shipped scenario with one mistake: `cascadesim validate` prints one line naming file, field and
    problem, and exits 2."""
    text = Path(f"scenarios/{name}.toml").read_text()
    assert old in text
    path = tmp_path / f"{name}.toml"
    path.write_text(text.replace(old, new, 1))
    result = subprocess.run([str(CLI), "validate", str(path)], capture_output=True, text=True, timeout=60)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {path}: ") and expected in lines[0], lines[0]


def test_a_live_run_compresses_the_times_after_live_from() -> None:
    """With live_compression k and live_from t0, a time t after t0 becomes t0 + (t - t0) / k (operator actions,
    load stages, the end); the trigger before t0 and the faults play as written. (An action timed from an event:
    tests/scenarios/test_what_if.py.)"""
    from scenarios.config.schema import for_live
    from tests.helpers import changed, shipped

    scenario = changed(shipped("cascade-operators"), live_compression=100, live_from=20)
    live = for_live(scenario)
    assert live.duration == pytest.approx(20 + (scenario.duration - 20) / 100)
    assert [a.at for a in live.operator] == pytest.approx(
        [20 + (a.at or 0) / 100 - 20 / 100 for a in scenario.operator]
    )
    assert live.faults == scenario.faults
    replay = changed(shipped("aws-2025-10-19"), live_compression=100, live_from=20)
    played = for_live(replay).load
    assert played is not None and replay.load is not None
    assert played.stages[-1].until == pytest.approx(20 + (replay.load.stages[-1].until - 20) / 100)
    assert (live.live_compression, live.live_from) == (1.0, 0.0)
    assert for_live(changed(scenario, live_from=0)).duration == pytest.approx(scenario.duration / 100)
