"""DynamoDB expressions parsed with lark (grammar.lark) into small immutable trees, cached by their text.

The trees keep `#name` and `:value` placeholders unresolved, so one parse serves every request that uses the same
expression text; `references` lists the placeholders an expression uses, so a request can be checked for
undefined or unused ones before anything is evaluated (as DynamoDB does).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any, Literal

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedInput, VisitError

from services.dynamodb.errors import ValidationException

Kind = Literal["condition", "update", "projection"]
_PARSER = Lark(
    files("services.dynamodb").joinpath("grammar.lark").read_text(encoding="utf-8"),
    start=["condition", "update", "projection"],
    parser="lalr",
    maybe_placeholders=False,
)

PREDICATE_FUNCTIONS = {
    "attribute_exists": 1,
    "attribute_not_exists": 1,
    "attribute_type": 2,
    "begins_with": 2,
    "contains": 2,
}
OPERAND_FUNCTIONS = {"size": 1}
UPDATE_FUNCTIONS = {"if_not_exists": 2, "list_append": 2}


@dataclass(frozen=True)
class Path:
    """A document path: names (literal or `#ref`) and list indexes, e.g. a.#b[2]."""

    elements: tuple[tuple[Literal["name", "ref", "index"], str | int], ...]


@dataclass(frozen=True)
class ValueRef:
    ref: str


@dataclass(frozen=True)
class Func:
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Between:
    operand: Any
    low: Any
    high: Any


@dataclass(frozen=True)
class In:
    operand: Any
    options: tuple[Any, ...]


@dataclass(frozen=True)
class And:
    left: Any
    right: Any


@dataclass(frozen=True)
class Or:
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class Arithmetic:
    op: Literal["+", "-"]
    left: Any
    right: Any


@dataclass(frozen=True)
class UpdateAction:
    action: Literal["SET", "REMOVE", "ADD", "DELETE"]
    path: Path
    value: Any = None


@v_args(inline=True)
class _ToTree(Transformer[Token, Any]):
    def __init__(self, kind: Kind) -> None:
        super().__init__()
        self.kind = kind

    def condition(self, expr: Any) -> Any:
        return expr

    def update(self, *clauses: list[UpdateAction]) -> tuple[UpdateAction, ...]:
        seen: set[str] = set()
        for clause in clauses:
            verb = clause[0].action
            if verb in seen:
                raise ValidationException(
                    f'Invalid UpdateExpression: The "{verb}" section can only be used once in an update expression;'
                )
            seen.add(verb)
        return tuple(action for clause in clauses for action in clause)

    def projection(self, *paths: Path) -> tuple[Path, ...]:
        return paths

    def or_(self, left: Any, _: Token, right: Any) -> Or:
        return Or(left, right)

    def and_(self, left: Any, _: Token, right: Any) -> And:
        return And(left, right)

    def not_(self, _: Token, operand: Any) -> Not:
        return Not(operand)

    def compare(self, left: Any, op: Token, right: Any) -> Compare:
        return Compare(str(op), left, right)

    def between(self, operand: Any, _b: Token, low: Any, _a: Token, high: Any) -> Between:
        return Between(operand, low, high)

    def in_(self, operand: Any, _: Token, *options: Any) -> In:
        if len(options) > 100:
            raise ValidationException(
                "Invalid ConditionExpression: The IN operator is provided with too many operands; "
                f"number of operands: {len(options)}"
            )
        return In(operand, options)

    def function(self, name: Token, *args: Any) -> Func:
        known = {**PREDICATE_FUNCTIONS, **OPERAND_FUNCTIONS, **(UPDATE_FUNCTIONS if self.kind == "update" else {})}
        if str(name) not in known:
            raise ValidationException(
                f"Invalid {self.kind.capitalize()}Expression: Invalid function name; function: {name}"
            )
        if len(args) != known[str(name)]:
            raise ValidationException(
                f"Invalid {self.kind.capitalize()}Expression: Incorrect number of operands for operator or function; "
                f"operator or function: {name}, number of operands: {len(args)}"
            )
        return Func(str(name), args)

    def value(self, token: Token) -> ValueRef:
        return ValueRef(str(token))

    def name(self, token: Token) -> tuple[str, str]:
        return ("name", str(token))

    def name_ref(self, token: Token) -> tuple[str, str]:
        return ("ref", str(token))

    def path(self, *parts: Any) -> Path:
        return Path(tuple(part if isinstance(part, tuple) else ("index", int(part)) for part in parts))

    def set_clause(self, _: Token, *actions: UpdateAction) -> list[UpdateAction]:
        return list(actions)

    def set_action(self, path: Path, op: Token, value: Any) -> UpdateAction:
        if str(op) != "=":
            raise ValidationException(f'Invalid UpdateExpression: Syntax error; token: "{op}"')
        return UpdateAction("SET", path, value)

    def plus(self, left: Any, right: Any) -> Arithmetic:
        return Arithmetic("+", left, right)

    def minus(self, left: Any, right: Any) -> Arithmetic:
        return Arithmetic("-", left, right)

    def remove_clause(self, _: Token, *paths: Path) -> list[UpdateAction]:
        return [UpdateAction("REMOVE", p) for p in paths]

    def add_clause(self, _: Token, *pairs: Any) -> list[UpdateAction]:
        return [UpdateAction("ADD", pairs[i], ValueRef(str(pairs[i + 1]))) for i in range(0, len(pairs), 2)]

    def delete_clause(self, _: Token, *pairs: Any) -> list[UpdateAction]:
        return [UpdateAction("DELETE", pairs[i], ValueRef(str(pairs[i + 1]))) for i in range(0, len(pairs), 2)]


@dataclass(frozen=True)
class Parsed:
    tree: Any
    names: frozenset[str]
    values: frozenset[str]


@lru_cache(maxsize=4096)
def parse(kind: Kind, text: str, parameter: str) -> Parsed:
    """Parse `text` as a `kind` expression; `parameter` names it in errors (e.g. ConditionExpression)."""
    if not text.strip():
        raise ValidationException(f"Invalid {parameter}: The expression can not be empty;")
    try:
        tree = _ToTree(kind).transform(_PARSER.parse(text, start=kind))
    except VisitError as exc:
        if isinstance(exc.orig_exc, ValidationException):
            raise exc.orig_exc from None
        raise
    except UnexpectedInput as exc:
        at = exc.pos_in_stream or 0
        near, around = text[at : at + 10], text[max(0, at - 10) :][:30]
        raise ValidationException(f'Invalid {parameter}: Syntax error; token: "{near}", near: "{around}"') from None
    except LarkError as exc:
        raise ValidationException(f"Invalid {parameter}: {exc}") from None
    names: set[str] = set()
    values: set[str] = set()
    _collect(tree, names, values)
    return Parsed(tree, frozenset(names), frozenset(values))


def _collect(node: Any, names: set[str], values: set[str]) -> None:
    if isinstance(node, ValueRef):
        values.add(node.ref)
    elif isinstance(node, Path):
        names.update(str(v) for k, v in node.elements if k == "ref")
    elif isinstance(node, tuple | list):
        for child in node:
            _collect(child, names, values)
    elif hasattr(node, "__dataclass_fields__"):
        for field_name in node.__dataclass_fields__:
            _collect(getattr(node, field_name), names, values)
