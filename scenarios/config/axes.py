"""A sweep's axes: dotted paths into a scenario and the values each takes, checked like any scenario field.

    faults[0].duration=2:12:1     a range: start, stop (included) and step
    faults[0].factor=1.5,2,3      a list
    dynamodb.capacity.workers=2   one value

A path names a scenario field as the scenario file does (`dynamodb.capacity.queue_limit`, `load.spawn_rate`), with
`[i]` for the i-th entry of a list (`faults[0]`, `operator[1]`). Values are read as TOML reads them (numbers, true and
false, or text). Every cell's scenario is validated whole before anything runs; a mistake is one line that names the
axis, e.g. `--vary faults[3].duration=2:12:1: no faults[3] (the scenario has 1 fault)`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from scenarios.config.problems import ScenarioError
from scenarios.config.schema import Scenario, parse_scenario

_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")
MAX_VALUES = 10_000  # per axis: a range that long is a typo, not a sweep


@dataclass(frozen=True)
class Axis:
    path: str
    values: tuple[Any, ...]
    text: str  # as the user wrote it, for messages

    @classmethod
    def parse(cls, text: str) -> Axis:
        """`PATH=VALUES` (see the module docstring); raises ScenarioError naming the axis."""
        path, sep, spec = text.partition("=")
        path, spec = path.strip(), spec.strip()
        if not sep or not path:
            raise ScenarioError(f"--vary {text}: expected PATH=VALUES, e.g. faults[0].duration=2:12:1")
        steps(path, text)  # a well-formed path, or the error
        if not spec:
            raise ScenarioError(f"--vary {text}: no values after '='")
        values = _range(spec, text) if ":" in spec else tuple(_scalar(v.strip(), text) for v in spec.split(","))
        if not values:
            raise ScenarioError(f"--vary {text}: the range is empty")
        return cls(path, values, text)


def steps(path: str, text: str, where: str | None = None) -> list[str | int]:
    """`faults[0].duration` as ["faults", 0, "duration"]."""
    out: list[str | int] = []
    for part in path.split("."):
        match = _STEP.fullmatch(part)
        if match is None:
            said = f"--vary {text}" if where is None else where
            raise ScenarioError(f"{said}: {path!r} is not a field path (e.g. faults[0].duration)")
        out.append(match.group(1))
        out.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return out


def _scalar(raw: str, text: str) -> Any:
    if raw == "":
        raise ScenarioError(f"--vary {text}: an empty value in the list")
    if raw in ("true", "false"):
        return raw == "true"
    for kind in (int, float):
        try:
            value = kind(raw)
        except ValueError:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise ScenarioError(f"--vary {text}: {raw} is not a finite number")
        return value
    return raw


def _range(spec: str, text: str) -> tuple[Any, ...]:
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise ScenarioError(f"--vary {text}: a range is START:STOP or START:STOP:STEP")
    numbers = [_scalar(p.strip(), text) for p in parts]
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        raise ScenarioError(f"--vary {text}: a range's bounds and step must be numbers")
    start, stop = numbers[0], numbers[1]
    step = numbers[2] if len(numbers) == 3 else 1
    if step <= 0:
        raise ScenarioError(f"--vary {text}: the step must be greater than 0")
    if stop < start:
        raise ScenarioError(f"--vary {text}: the range is empty (STOP is below START)")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_VALUES:
        raise ScenarioError(f"--vary {text}: {count} values; at most {MAX_VALUES} per axis")
    exact = all(isinstance(n, int) for n in (start, stop, step))
    return tuple(start + i * step if exact else round(start + i * step, 9) for i in range(count))


def with_values(base: Scenario, origin: str, setting: dict[Axis, Any]) -> Scenario:
    """`base` with each axis at its value, validated whole; raises ScenarioError naming the axis at fault."""
    data = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    for axis, value in setting.items():
        _put(data, steps(axis.path, axis.text), value, f"--vary {axis.text}")
    try:
        return parse_scenario(data, origin)
    except ScenarioError as exc:
        named = ", ".join(f"{a.path}={v}" for a, v in setting.items())
        raise ScenarioError(f"--vary {named}: {str(exc).removeprefix(origin + ': ')}") from None


def with_settings(base: Scenario, origin: str, settings: dict[str, Any], where: str) -> Scenario:
    """`base` with each dotted path set to its value (a what-if file's variant), validated whole; raises
    ScenarioError as one line, `<where>: <path>: <problem>`."""
    data = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    for path, value in settings.items():
        _put(data, steps(path, path, where), value, f"{where}: {path}")
    try:
        return parse_scenario(data, origin)
    except ScenarioError as exc:
        raise ScenarioError(f"{where}: {str(exc).removeprefix(origin + ': ')}") from None


def _put(data: Any, path: list[str | int], value: Any, label: str) -> None:
    where = data
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        shown = _shown(path[: depth + 1])
        if isinstance(key, int):
            if not isinstance(where, list):
                raise ScenarioError(f"{label}: {_shown(path[:depth])} is not a list")
            if key >= len(where):
                raise ScenarioError(
                    f"{label}: no {shown} (the scenario has {len(where)} {'entry' if len(where) == 1 else 'entries'})"
                )
        else:
            if not isinstance(where, dict):
                raise ScenarioError(f"{label}: {_shown(path[:depth])} has no fields")
            if key not in where and not last:
                raise ScenarioError(f"{label}: the scenario has no {shown}")
        if last:
            where[key] = value
        else:
            where = where[key]


def _shown(path: list[str | int]) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text
