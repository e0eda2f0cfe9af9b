"""How a broken config file reads: one line naming the file, the field, the value and the problem.

For example `scenarios/x.toml: dynamodb.routers = 0: must be at least 1`. Used by scenario files and policy sets.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from services.errors import CascadesimError
from services.event_kinds import FaultKind, OperatorKind


class ScenarioError(CascadesimError):
    """A scenario file that cannot be used; the message is the one line to show the user."""


class FieldProblem(ValueError):
    """Raised inside a model validator: becomes the `field = value: problem` part of the line."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        super().__init__(f"{field} = {value!r}: {problem}")


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's contents, or a ScenarioError that says in one line why not."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None


def describe(exc: ValidationError) -> str:
    """The first problem in words (`field = value: problem`), noting how many more there are."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    text = _describe_one(first)
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return text


def _describe_one(error: Any) -> str:
    field = _field_path(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind == "value_error" and isinstance(ctx.get("error"), FieldProblem):
        return ("" if not error["loc"] else field + ".") + str(ctx["error"])
    if kind == "extra_forbidden":
        return f"{field}: unknown key"
    if kind == "missing":
        return f"{field}: required but missing"
    if kind == "union_tag_invalid" and ctx["tag"] in RETIRED:
        return f"{field}.kind = {ctx['tag']!r}: {RETIRED[ctx['tag']]}"
    if kind == "union_tag_invalid":
        expected = _ENUM_REPR.sub(r"\1", ctx["expected_tags"])  # a FaultKind's tag shows as its value
        return f"{field}.kind = {ctx['tag']!r}: must be one of {expected}"
    problem = {
        "greater_than_equal": "must be at least {ge}",
        "greater_than": "must be greater than {gt}",
        "less_than_equal": "must be at most {le}",
        "less_than": "must be less than {lt}",
        "int_type": "must be an integer",
        "int_parsing": "must be an integer",
        "int_from_float": "must be an integer",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "finite_number": "must be a finite number",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "string_type": "must be a string",
        "string_too_short": "must not be empty",
        "string_pattern_mismatch": _PATTERN_WORDS.get(ctx.get("pattern", ""), "must match {pattern}"),
        "literal_error": "must be one of {expected}",
        "union_tag_not_found": "needs a 'kind' ({discriminator})",
        "model_type": "must be a table",
        "dict_type": "must be a table",
        "too_short": "must have at least {min_length} entry",
        "tuple_type": "must be an array of tables",
    }.get(kind)
    text = problem.format(**ctx) if problem else error["msg"]
    return f"{field} = {error['input']!r}: {text}" if kind not in ("union_tag_not_found",) else f"{field}: {text}"


_ENUM_REPR = re.compile(r"<\w+\.\w+: ('[^']*')>")  # how pydantic shows an enum member among the expected tags

RETIRED = {  # kinds that older scenario files may still use, and what replaced them
    "router_stop": 'no longer exists: write kind = "kill_node" with node = "router-N" (its router number)',
}

_PATTERN_WORDS = {
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$": "must be letters, digits, '.', '_' or '-'",
    r"^(router-[1-9][0-9]*|ec2-api|dwfm|netmgr|lambda)$": "must be router-N, ec2-api, dwfm, netmgr or lambda",
    r"^(router-[1-9][0-9]*|nginx-[1-9][0-9]*|ec2-api|netmgr|lambda)$": "must be router-N, nginx-N, ec2-api, netmgr or "
    "lambda",
}


def _field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    tags = {*FaultKind, *OperatorKind}
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        elif item in tags or item == "[key]":
            continue
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"
