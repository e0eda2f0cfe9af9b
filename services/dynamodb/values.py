"""DynamoDB attribute values (`{"S": "x"}`, `{"N": "1"}`, …): validation, comparison, keys and sizes.

Items travel and are stored in the wire form, as dicts of attribute name to a one-key dict. Numbers are
compared as decimals with DynamoDB's 38 digits of precision, strings by their UTF-8 bytes.
"""

from __future__ import annotations

import base64
import decimal
from typing import Any

from services.dynamodb.errors import ValidationException

Value = dict[str, Any]
Item = dict[str, Value]

SCALAR_TYPES = ("S", "N", "B")
SET_TYPES = ("SS", "NS", "BS")
TYPES = (*SCALAR_TYPES, *SET_TYPES, "M", "L", "NULL", "BOOL")

_CONTEXT = decimal.Context(prec=38, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow])


def number(text: Any) -> decimal.Decimal:
    """Parse a DynamoDB number: at most 38 significant digits, magnitude within 1E-130 .. 9.9E+125."""
    if not isinstance(text, str):
        raise ValidationException("The parameter cannot be converted to a numeric value")
    try:
        value = _CONTEXT.create_decimal(text.strip())
    except (decimal.DecimalException, ValueError):
        raise ValidationException(f"The parameter cannot be converted to a numeric value: {text}") from None
    if not value.is_finite():
        raise ValidationException(f"The parameter cannot be converted to a numeric value: {text}")
    if value != 0 and not (decimal.Decimal("1E-130") <= abs(value) < decimal.Decimal("1E+126")):
        raise ValidationException(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    return value


def format_number(value: decimal.Decimal) -> str:
    """The canonical text DynamoDB answers with: no exponent, no trailing zeros."""
    if value == 0:
        return "0"
    text = format(value.normalize(_CONTEXT), "f")
    return text


def validate_value(value: Any, where: str) -> Value:
    """Check one attribute value's shape and normalise its numbers; raises ValidationException."""
    if not isinstance(value, dict) or len(value) != 1:
        raise ValidationException(
            "Supplied AttributeValue has more than one datatypes set, "
            f"must contain exactly one of the supported datatypes ({where})"
        )
    ((kind, content),) = value.items()
    if kind == "S":
        if not isinstance(content, str):
            raise ValidationException(f"Invalid type for S in {where}")
        return value
    if kind == "N":
        return {"N": format_number(number(content))}
    if kind == "B":
        return {"B": _binary(content, where)}
    if kind in SET_TYPES:
        if not isinstance(content, list) or not content:
            raise ValidationException(
                f"One or more parameter values were invalid: An string set  may not be empty ({where})"
            )
        element = kind[0]
        members = [validate_value({element: c}, where)[element] for c in content]
        if len({canonical({element: m}) for m in members}) != len(members):
            raise ValidationException(
                f"One or more parameter values were invalid: Input collection {content} contains duplicates."
            )
        return {kind: members}
    if kind == "M":
        if not isinstance(content, dict):
            raise ValidationException(f"Invalid type for M in {where}")
        return {"M": {str(k): validate_value(v, where) for k, v in content.items()}}
    if kind == "L":
        if not isinstance(content, list):
            raise ValidationException(f"Invalid type for L in {where}")
        return {"L": [validate_value(v, where) for v in content]}
    if kind == "NULL":
        if content is not True:
            raise ValidationException(
                "One or more parameter values were invalid: "
                f"Null attribute value types must have the value of true ({where})"
            )
        return value
    if kind == "BOOL":
        if not isinstance(content, bool):
            raise ValidationException(f"Invalid type for BOOL in {where}")
        return value
    raise ValidationException(
        f"Supplied AttributeValue is empty, must contain exactly one of the supported datatypes ({where})"
    )


def validate_item(item: Any, where: str = "Item") -> Item:
    if not isinstance(item, dict):
        raise ValidationException(f"{where} must be a map of attribute names to values")
    out: Item = {}
    for name, value in item.items():
        if not isinstance(name, str) or not name:
            raise ValidationException(
                f"One or more parameter values were invalid: An attribute name in {where} is empty"
            )
        out[name] = validate_value(value, f"{where}.{name}")
    return out


def _binary(content: Any, where: str) -> str:
    if not isinstance(content, str):
        raise ValidationException(f"Invalid type for B in {where}")
    try:
        base64.b64decode(content, validate=True)
    except ValueError:
        raise ValidationException(f"Invalid base64 for B in {where}") from None
    return content


def kind_of(value: Value) -> str:
    return next(iter(value))


def sort_key(value: Value) -> tuple[int, Any]:
    """An orderable form of a scalar value, as DynamoDB orders keys: numbers numerically, strings by UTF-8."""
    kind, content = next(iter(value.items()))
    if kind == "N":
        return (1, number(content))
    if kind == "S":
        return (0, content.encode("utf-8"))
    if kind == "B":
        return (2, base64.b64decode(content))
    raise ValidationException(f"{kind} values cannot be compared or used as keys")


def canonical(value: Value) -> Any:
    """A hashable form in which equal values (1 and 1.0, sets in any order) are equal."""
    kind, content = next(iter(value.items()))
    if kind == "N":
        return ("N", number(content))
    if kind in ("SS", "BS"):
        return (kind, frozenset(content))
    if kind == "NS":
        return (kind, frozenset(number(c) for c in content))
    if kind == "M":
        return ("M", frozenset((k, canonical(v)) for k, v in content.items()))
    if kind == "L":
        return ("L", tuple(canonical(v) for v in content))
    return (kind, content)


def equal(a: Value, b: Value) -> bool:
    return bool(canonical(a) == canonical(b))


def size_of(value: Value) -> int:
    """DynamoDB's item-size accounting, roughly: UTF-8 bytes of strings, ~1 byte per 2 digits, 1 per flag."""
    kind, content = next(iter(value.items()))
    if kind == "S":
        return len(content.encode("utf-8"))
    if kind == "N":
        return len(content) // 2 + 2
    if kind == "B":
        return len(base64.b64decode(content))
    if kind in SET_TYPES:
        return sum(size_of({kind[0]: c}) for c in content)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + size_of(v) + 1 for k, v in content.items())
    if kind == "L":
        return 3 + sum(size_of(v) + 1 for v in content)
    return 1


def item_size(item: Item) -> int:
    return sum(len(name.encode("utf-8")) + size_of(value) for name, value in item.items())
