"""Item operations: PutItem, GetItem, UpdateItem, DeleteItem, BatchGetItem, BatchWriteItem."""

from __future__ import annotations

from typing import Any

from services.dynamodb.errors import ConditionalCheckFailedException, ValidationException
from services.dynamodb.evaluate import apply_update, condition, project
from services.dynamodb.params import changed_attributes, expression, placeholders, reject_legacy, return_values
from services.dynamodb.tables import Storage, Table, require, table_name, validated_key
from services.dynamodb.values import Item, item_size, validate_item

MAX_ITEM_BYTES = 400 * 1024


def _check_condition(request: dict[str, Any], table: Table, current: Item | None, *extra: Any) -> Any:
    parsed = expression(request, "ConditionExpression", "condition")
    p = placeholders(request, parsed, *extra)
    if parsed is not None and not condition(parsed.tree, current or {}, p):
        raise ConditionalCheckFailedException()
    return p


def put_item(storage: Storage, request: dict[str, Any]) -> dict[str, Any]:
    reject_legacy(request, "Expected", "ConditionalOperator")
    table = storage.table(table_name(request))
    item = validate_item(require(request, "Item", dict))
    if item_size(item) > MAX_ITEM_BYTES:
        raise ValidationException("Item size has exceeded the maximum allowed size")
    key = table.key(item, exact=False)
    returns = return_values(request, ("NONE", "ALL_OLD"))
    current = table.get(key)
    _check_condition(request, table, current)
    old = table.put(key, item)
    return {"Attributes": old} if returns == "ALL_OLD" and old else {}


def get_item(storage: Storage, request: dict[str, Any]) -> dict[str, Any]:
    reject_legacy(request, "AttributesToGet")
    table = storage.table(table_name(request))
    _, key = validated_key(table, require(request, "Key", dict))
    projection = expression(request, "ProjectionExpression", "projection")
    p = placeholders(request, projection)
    item = table.get(key)
    if item is None:
        return {}
    return {"Item": project(item, projection.tree, p) if projection else item}


def delete_item(storage: Storage, request: dict[str, Any]) -> dict[str, Any]:
    reject_legacy(request, "Expected", "ConditionalOperator")
    table = storage.table(table_name(request))
    _, key = validated_key(table, require(request, "Key", dict))
    returns = return_values(request, ("NONE", "ALL_OLD"))
    _check_condition(request, table, table.get(key))
    old = table.delete(key)
    return {"Attributes": old} if returns == "ALL_OLD" and old else {}


def update_item(storage: Storage, request: dict[str, Any]) -> dict[str, Any]:
    reject_legacy(request, "AttributeUpdates", "Expected", "ConditionalOperator")
    table = storage.table(table_name(request))
    key_item, key = validated_key(table, require(request, "Key", dict))
    returns = return_values(request, ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"))
    update = expression(request, "UpdateExpression", "update")
    current = table.get(key)
    p = _check_condition(request, table, current, update)
    before = current or dict(key_item)
    after = apply_update(before, update.tree, p) if update else dict(before)
    for name in table.key_names:
        if after.get(name) != key_item[name]:
            raise ValidationException(
                f"One or more parameter values were invalid: Cannot update attribute {name}. This attribute is part of the key"
            )
    if item_size(after) > MAX_ITEM_BYTES:
        raise ValidationException("Item size to update has exceeded the maximum allowed size")
    table.put(key, after)
    changed = changed_attributes(current or {}, after)
    if returns == "ALL_OLD":
        return {"Attributes": current} if current else {}
    if returns == "ALL_NEW":
        return {"Attributes": after}
    if returns == "UPDATED_OLD":
        old = {n: v for n, v in (current or {}).items() if n in changed}
        return {"Attributes": old} if old else {}
    if returns == "UPDATED_NEW":
        new = {n: v for n, v in after.items() if n in changed}
        return {"Attributes": new} if new else {}
    return {}


def batch_get_item(storage: Storage, request: dict[str, Any]) -> dict[str, Any]:
    requested = require(request, "RequestItems", dict)
    if not requested:
        raise ValidationException(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"
        )
    total = sum(len(r["Keys"]) for r in requested.values() if isinstance(r, dict) and isinstance(r.get("Keys"), list))
    if total > 100:
        raise ValidationException("Too many items requested for the BatchGetItem call")
    responses: dict[str, list[Item]] = {}
    for name, spec in requested.items():
        if not isinstance(spec, dict):
            raise ValidationException(
                f"1 validation error detected: Value at 'requestItems.{name}' failed to satisfy constraint: Member must not be null"
            )
        reject_legacy(spec, "AttributesToGet")
        table = storage.table(table_name({"TableName": name}))
        keys = require(spec, "Keys", list)
        projection = expression(spec, "ProjectionExpression", "projection")
        p = placeholders(spec, projection)
        seen = set()
        found = []
        for key in keys:
            _, identity = validated_key(table, key)
            if identity in seen:
                raise ValidationException("Provided list of item keys contains duplicates")
            seen.add(identity)
            item = table.get(identity)
            if item is not None:
                found.append(project(item, projection.tree, p) if projection else item)
        responses[name] = found
    return {"Responses": responses, "UnprocessedKeys": {}}


def batch_write_item(storage: Storage, request: dict[str, Any]) -> dict[str, Any]:
    requested = require(request, "RequestItems", dict)
    writes = [(name, w) for name, ws in requested.items() for w in (ws if isinstance(ws, list) else [None])]
    if not 1 <= len(writes) <= 25:
        raise ValidationException(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]"
        )
    planned: list[tuple[Table, tuple[Any, Any], Item | None]] = []
    seen = set()
    for name, write in writes:
        table = storage.table(table_name({"TableName": name}))
        if not isinstance(write, dict) or len(write) != 1 or next(iter(write)) not in ("PutRequest", "DeleteRequest"):
            raise ValidationException(
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
            )
        if "PutRequest" in write:
            item = validate_item(require(write["PutRequest"] or {}, "Item", dict))
            if item_size(item) > MAX_ITEM_BYTES:
                raise ValidationException("Item size has exceeded the maximum allowed size")
            identity = table.key(item, exact=False)
            planned.append((table, identity, item))
        else:
            _, identity = validated_key(table, require(write["DeleteRequest"] or {}, "Key", dict))
            planned.append((table, identity, None))
        if (name, identity) in seen:
            raise ValidationException("Provided list of item keys contains duplicates")
        seen.add((name, identity))
    # Validated as a whole first, so a bad request changes nothing.
    for target, identity, new_item in planned:
        if new_item is None:
            target.delete(identity)
        else:
            target.put(identity, new_item)
    return {"UnprocessedItems": {}}
