"""Request parameters shared by the item and read operations: expressions with their placeholders."""

from __future__ import annotations

from typing import Any

from services.dynamodb.errors import ValidationException
from services.dynamodb.evaluate import Placeholders
from services.dynamodb.expressions import Kind, Parsed, parse
from services.dynamodb.tables import require
from services.dynamodb.values import Item, validate_value


def expression(request: dict[str, Any], parameter: str, kind: Kind) -> Parsed | None:
    text = require(request, parameter, str, optional=True)
    return None if text is None else parse(kind, text, parameter)


def placeholders(request: dict[str, Any], *used: Parsed | None) -> Placeholders:
    """The request's names and values, checked against what its expressions use: none undefined, none unused."""
    if (
        "ExpressionAttributeNames" not in request
        and "ExpressionAttributeValues" not in request
        and all(p is None or not (p.names or p.values) for p in used)
    ):
        return Placeholders({}, {})  # nothing to check: most GetItem and PutItem calls
    names = require(request, "ExpressionAttributeNames", dict, optional=True) or {}
    raw_values = require(request, "ExpressionAttributeValues", dict, optional=True) or {}
    for key, value in names.items():
        if not key.startswith("#") or not isinstance(value, str) or not value:
            raise ValidationException(f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{key}"')
    values = {}
    for key, value in raw_values.items():
        if not key.startswith(":"):
            raise ValidationException(f'ExpressionAttributeValues contains invalid key: Syntax error; key: "{key}"')
        values[key] = validate_value(value, f"ExpressionAttributeValues.{key}")
    parsed = [p for p in used if p is not None]
    used_names: set[str] = set()
    used_values: set[str] = set()
    for p in parsed:
        used_names.update(p.names)
        used_values.update(p.values)
    if names and not parsed:
        raise ValidationException("ExpressionAttributeNames can only be specified when using expressions")
    if values and not parsed:
        raise ValidationException("ExpressionAttributeValues can only be specified when using expressions")
    for ref in sorted(used_values - set(values)):
        raise ValidationException(
            f"Invalid expression: An expression attribute value used in expression is not defined; attribute value: {ref}"
        )
    for ref in sorted(used_names - set(names)):
        raise ValidationException(
            f"Invalid expression: An expression attribute name used in the document path is not defined; attribute name: {ref}"
        )
    if unused := sorted(set(values) - used_values):
        raise ValidationException(
            f"Value provided in ExpressionAttributeValues unused in expressions: keys: {{{', '.join(unused)}}}"
        )
    if unused := sorted(set(names) - used_names):
        raise ValidationException(
            f"Value provided in ExpressionAttributeNames unused in expressions: keys: {{{', '.join(unused)}}}"
        )
    return Placeholders(names, values)


def return_values(request: dict[str, Any], allowed: tuple[str, ...]) -> str:
    choice = require(request, "ReturnValues", str, optional=True) or "NONE"
    if choice not in allowed:
        raise ValidationException(
            f"1 validation error detected: Value '{choice}' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"
        )
    return str(choice)


def reject_legacy(request: dict[str, Any], *names: str) -> None:
    """The pre-2014 parameters (Expected, AttributeUpdates, …) are not modelled: say so, as a 400."""
    for name in names:
        if name in request:
            raise ValidationException(
                f"cascadesim supports expressions only; the legacy parameter {name} is not supported"
            )


def changed_attributes(before: Item, after: Item) -> set[str]:
    return {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
