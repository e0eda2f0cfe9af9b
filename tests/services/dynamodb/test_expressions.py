"""Expression semantics as the DynamoDB Developer Guide states them: conditions, updates, projections, placeholders."""

from __future__ import annotations

from typing import Any

import pytest

from services.dynamodb.errors import ValidationException
from services.dynamodb.evaluate import Placeholders, apply_update, condition, project
from services.dynamodb.expressions import parse
from services.dynamodb.params import placeholders
from services.dynamodb.values import Value, format_number, number, validate_value

ITEM: dict[str, Any] = {
    "pk": {"S": "user#1"},
    "n": {"N": "5"},
    "tags": {"SS": ["a", "b"]},
    "list": {"L": [{"N": "1"}, {"S": "two"}, {"N": "3"}]},
    "map": {"M": {"inner": {"S": "deep"}, "count": {"N": "2"}}},
    "flag": {"BOOL": True},
}
VALUES: dict[str, Value] = {
    ":five": {"N": "5"},
    ":six": {"N": "6.0"},
    ":s": {"S": "user"},
    ":a": {"S": "a"},
    ":one": {"N": "1"},
    ":two": {"S": "two"},
    ":N": {"S": "N"},
    ":z": {"S": "z"},
    ":set": {"SS": ["b", "c"]},
    ":l": {"L": [{"N": "4"}]},
}


def holds(text: str, item: dict[str, Any] = ITEM, names: dict[str, str] | None = None) -> bool:
    return condition(parse("condition", text, "ConditionExpression").tree, item, Placeholders(names or {}, VALUES))


def updated(text: str, item: dict[str, Any] = ITEM) -> dict[str, Any]:
    return apply_update(item, parse("update", text, "UpdateExpression").tree, Placeholders({"#m": "map"}, VALUES))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n = :five", True),
        ("n < :six AND n >= :five", True),
        ("missing = :five", False),
        ("missing <> :five", True),
        ("pk < :five", False),  # S against N: ordering needs one type
        ("n BETWEEN :one AND :six", True),
        ("n IN (:one, :six, :five)", True),
        ("begins_with(pk, :s)", True),
        ("contains(tags, :a) AND contains(list, :two) AND contains(pk, :s)", True),
        ("size(tags) = :six OR size(list) > :one", True),
        ("attribute_type(n, :N) AND attribute_exists(map.inner) AND attribute_not_exists(map.nope)", True),
        ("list[1] = :two AND map.count < :six", True),
        ("NOT n = :five OR n = :one AND n = :five", False),  # NOT binds tighter than AND, AND than OR
        ("(NOT n = :five OR n = :one) AND n = :five", False),
        ("n = :one OR n = :five AND flag = flag", True),
    ],
)
def test_conditions(text: str, expected: bool) -> None:
    """Comparison, function and precedence rules of condition expressions."""
    assert holds(text) is expected


def test_updates_compute_every_right_hand_side_from_the_original_item() -> None:
    """SET a = b, b = a swaps; arithmetic, if_not_exists, list_append and nested SET behave as documented."""
    item = updated(
        "SET n = n + :one, flag2 = if_not_exists(flag, :two), list = list_append(list, :l), #m.inner = pk, pk2 = n"
    )
    assert item["n"] == {"N": "6"} and item["pk2"] == {"N": "5"}
    assert item["flag2"] == {"BOOL": True} and item["list"]["L"][-1] == {"N": "4"}
    assert item["map"]["M"]["inner"] == {"S": "user#1"} and ITEM["map"]["M"]["inner"] == {"S": "deep"}


def test_remove_add_and_delete() -> None:
    """REMOVE takes list elements by original index; ADD adds numbers and unions sets; DELETE empties to nothing."""
    item = updated("REMOVE list[0], list[2], map.count ADD n :one, tags :set, fresh :one DELETE tags :set")
    assert item["list"] == {"L": [{"S": "two"}]} and "count" not in item["map"]["M"]
    assert item["n"] == {"N": "6"} and item["fresh"] == {"N": "1"}
    emptied = updated("DELETE tags :set", {**ITEM, "tags": {"SS": ["b", "c"]}})
    assert "tags" not in emptied


def test_invalid_updates_are_validation_errors() -> None:
    """A missing parent path, arithmetic on strings and a repeated clause are all ValidationException."""
    for text in ("SET nope.child = :one", "SET pk = pk + :one", "SET a = :one SET b = :one", "SET missing2 = missing"):
        with pytest.raises(ValidationException):
            updated(text)


def test_projection_keeps_only_named_paths() -> None:
    """Projections pick top-level attributes, nested map members and list elements."""
    tree = parse("projection", "pk, #m.inner, list[1], nothing", "ProjectionExpression").tree
    assert project(ITEM, tree, Placeholders({"#m": "map"}, {})) == {
        "pk": {"S": "user#1"},
        "map": {"M": {"inner": {"S": "deep"}}},
        "list": {"L": [{"S": "two"}]},
    }


def test_placeholders_must_be_defined_and_used() -> None:
    """An undefined :value or #name, or an unused one, is rejected before anything is evaluated."""
    parsed = parse("condition", "#a = :b", "ConditionExpression")
    with pytest.raises(ValidationException, match="not defined"):
        placeholders({"ExpressionAttributeNames": {"#a": "x"}}, parsed)
    with pytest.raises(ValidationException, match="unused"):
        placeholders(
            {"ExpressionAttributeNames": {"#a": "x", "#c": "y"}, "ExpressionAttributeValues": {":b": {"S": "v"}}},
            parsed,
        )
    assert placeholders(
        {"ExpressionAttributeNames": {"#a": "x"}, "ExpressionAttributeValues": {":b": {"S": "v"}}}, parsed
    ).names == {"#a": "x"}


def test_parsed_expressions_are_cached_and_syntax_errors_named() -> None:
    """The same text parses once; a syntax error names the parameter and the token."""
    assert parse("condition", "a = :b", "FilterExpression") is parse("condition", "a = :b", "FilterExpression")
    with pytest.raises(ValidationException, match=r'Invalid FilterExpression: Syntax error; token: "== :b"'):
        parse("condition", "a === :b", "FilterExpression")


def test_numbers_are_decimal_with_38_digits() -> None:
    """Numbers normalise (1.50 -> 1.5, 1E+3 -> 1000) and more than 38 significant digits are rejected."""
    assert validate_value({"N": "1.50"}, "x") == {"N": "1.5"} and format_number(number("1E+3")) == "1000"
    with pytest.raises(ValidationException):
        validate_value({"N": "1" * 39 + ".5"}, "x")
    with pytest.raises(ValidationException):
        validate_value({"N": "1e200"}, "x")
