"""Query and Scan, with filters, projections, Select=COUNT and `ExclusiveStartKey`/`LastEvaluatedKey` paging.

`Limit` caps the items *evaluated* (before the filter), and a page stops at 1 MB of evaluated data, as in
DynamoDB; `LastEvaluatedKey` is returned only when more items remain.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

from services.dynamodb.errors import ValidationException
from services.dynamodb.evaluate import Placeholders, condition, project
from services.dynamodb.expressions import And, Between, Compare, Func, Parsed, Path, ValueRef
from services.dynamodb.params import expression, placeholders, reject_legacy
from services.dynamodb.tables import Storage, Table, require, table_name, validated_key
from services.dynamodb.values import Item, canonical, item_size

PAGE_BYTES = 1024 * 1024


def query(storage: Storage, request: dict[str, Any]) -> dict[str, Any]:
    reject_legacy(request, "KeyConditions", "QueryFilter", "AttributesToGet", "ConditionalOperator")
    table = _table(storage, request)
    key_condition = expression(request, "KeyConditionExpression", "condition")
    if key_condition is None:
        raise ValidationException(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."
        )
    filter_, projection = (
        expression(request, "FilterExpression", "condition"),
        expression(request, "ProjectionExpression", "projection"),
    )
    p = placeholders(request, key_condition, filter_, projection)
    hash_value = _hash_value(table, key_condition, p)
    forward = require(request, "ScanIndexForward", bool, optional=True)
    forward = True if forward is None else forward
    after = _start_key(table, request)
    if after is not None and after[0] != canonical(hash_value):
        raise ValidationException("The provided starting key is invalid: The query key must match the partition key")
    if after is not None and table.range_key is None:
        return _page(table, request, (), filter_, projection, p)  # a partition of one item, already returned
    candidates = (
        item
        for sort, item in table.partition(hash_value, forward=forward)
        if after is None or (sort > after[1] if forward else sort < after[1])
    )
    matching = (item for item in candidates if condition(key_condition.tree, item, p))
    return _page(table, request, matching, filter_, projection, p)


def scan(storage: Storage, request: dict[str, Any]) -> dict[str, Any]:
    reject_legacy(request, "ScanFilter", "AttributesToGet", "ConditionalOperator")
    table = _table(storage, request)
    filter_, projection = (
        expression(request, "FilterExpression", "condition"),
        expression(request, "ProjectionExpression", "projection"),
    )
    p = placeholders(request, filter_, projection)
    segment = require(request, "Segment", int, optional=True)
    total = require(request, "TotalSegments", int, optional=True)
    if (segment is None) != (total is None) or (
        total is not None and not (1 <= total <= 1000000 and 0 <= segment < total)
    ):
        raise ValidationException(
            "The Segment parameter is required but was not present in the request when parameter TotalSegments is present"
            if segment is None
            else "The TotalSegments parameter is required but was not present in the request when Segment parameter is present"
            if total is None
            else f"The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {segment} is not less than TotalSegments: {total}"
        )
    items: Iterable[Item] = table.scan(_start_key(table, request))
    if total is not None:
        hash_name = table.hash_key[0]
        items = (
            i
            for i in items
            if zlib.crc32(repr(table.key(i, exact=False)[0]).encode()) % total == segment and hash_name in i
        )
    return _page(table, request, items, filter_, projection, p)


def _table(storage: Storage, request: dict[str, Any]) -> Table:
    table = storage.table(table_name(request))
    index = require(request, "IndexName", str, optional=True)
    if index is not None:
        raise ValidationException(f"The table does not have the specified index: {index}")
    return table


def _start_key(table: Table, request: dict[str, Any]) -> tuple[Any, Any] | None:
    start = require(request, "ExclusiveStartKey", dict, optional=True)
    if start is None:
        return None
    try:
        return validated_key(table, start)[1]
    except ValidationException:
        raise ValidationException(
            "The provided starting key is invalid: The provided key element does not match the schema"
        ) from None


def _hash_value(table: Table, parsed: Parsed, p: Placeholders) -> Any:
    """Check the key condition's shape (hash = :v [AND one sort-key condition]) and return the hash value."""
    tree = parsed.tree
    parts = [tree.left, tree.right] if isinstance(tree, And) else [tree]
    hash_name = table.hash_key[0]
    range_name = table.range_key[0] if table.range_key else None
    hash_value = None
    conditions_on: list[str] = []
    for part in parts:
        if isinstance(part, Compare) and part.op == "=":
            path, value = (part.left, part.right) if isinstance(part.left, Path) else (part.right, part.left)
        elif isinstance(part, Compare | Between) or (isinstance(part, Func) and part.name == "begins_with"):
            path = (
                part.left if isinstance(part, Compare) else part.operand if isinstance(part, Between) else part.args[0]
            )
            value = None
            if isinstance(part, Compare) and part.op == "<>":
                raise ValidationException("Unsupported operator in KeyConditionExpression: <>")
        else:
            raise ValidationException(f"Invalid operator used in KeyConditionExpression: {type(part).__name__.upper()}")
        if not isinstance(path, Path) or len(path.elements) != 1:
            raise ValidationException("Invalid KeyConditionExpression: The key condition must name a key attribute")
        name = str(p.resolve(path)[0])
        conditions_on.append(name)
        if name == hash_name and value is not None and isinstance(value, ValueRef):
            hash_value = p.value(value)
        elif name != range_name:
            raise ValidationException(
                f"Query condition missed key schema element: {hash_name}"
                if name != hash_name
                else f"Query key condition not supported: {name}"
            )
    if hash_value is None:
        raise ValidationException(f"Query condition missed key schema element: {hash_name}")
    if len(conditions_on) != len(set(conditions_on)):
        raise ValidationException("KeyConditionExpressions must only contain one condition per key")
    return hash_value


def _page(
    table: Table,
    request: dict[str, Any],
    items: Iterable[Item],
    filter_: Parsed | None,
    projection: Parsed | None,
    p: Placeholders,
) -> dict[str, Any]:
    limit = require(request, "Limit", int, optional=True)
    if limit is not None and limit < 1:
        raise ValidationException(
            "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )
    select = require(request, "Select", str, optional=True) or (
        "SPECIFIC_ATTRIBUTES" if projection else "ALL_ATTRIBUTES"
    )
    if select not in ("ALL_ATTRIBUTES", "COUNT", "SPECIFIC_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES"):
        raise ValidationException(
            f"1 validation error detected: Value '{select}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
        )
    if select == "COUNT" and projection is not None:
        raise ValidationException("Cannot specify the ProjectionExpression when choosing to get only the COUNT")
    out: list[Item] = []
    scanned = 0
    size = 0
    last: Item | None = None
    more = False
    for item in items:
        if (limit is not None and scanned >= limit) or size >= PAGE_BYTES:
            more = True
            break
        scanned += 1
        size += item_size(item)
        last = item
        if filter_ is None or condition(filter_.tree, item, p):
            out.append(item)
    response: dict[str, Any] = {"Count": len(out), "ScannedCount": scanned}
    if select != "COUNT":
        response["Items"] = [project(i, projection.tree, p) for i in out] if projection else out
    if more and last is not None:
        response["LastEvaluatedKey"] = {name: last[name] for name in table.key_names}
    return response
