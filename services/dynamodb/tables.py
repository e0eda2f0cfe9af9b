"""Tables and the storage every router shares: CreateTable, DescribeTable, ListTables, DeleteTable.

Items of a table live by partition (hash key) and, within it, by sort key. Scans walk partitions in key order so
that `ExclusiveStartKey` pagination is stable.
"""

from __future__ import annotations

import bisect
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from services.dynamodb.errors import ResourceInUseException, ResourceNotFoundException, ValidationException
from services.dynamodb.values import Item, Value, canonical, item_size, kind_of, sort_key, validate_value

# Simulated time 0 is 2025-10-20 06:48 UTC, when the DynamoDB endpoint's record went empty.
INCIDENT_EPOCH = 1760942880.0
ACCOUNT = "123456789012"
REGION = "us-east-1"
TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


def require(request: dict[str, Any], name: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
    """A request parameter of the right JSON type, or a ValidationException that names it."""
    value = request.get(name)
    if value is None:
        if optional:
            return None
        raise ValidationException(
            f"1 validation error detected: Value null at '{_camel(name)}' failed to satisfy constraint: Member must not be null"
        )
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ValidationException(
            f"1 validation error detected: Value at '{_camel(name)}' failed to satisfy constraint: Member must be of the expected type"
        )
    return value


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def table_name(request: dict[str, Any]) -> str:
    name = require(request, "TableName", str)
    if not TABLE_NAME.match(name):
        raise ValidationException(
            f"1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        )
    return str(name)


@dataclass
class Table:
    name: str
    hash_key: tuple[str, str]
    range_key: tuple[str, str] | None
    definition: dict[str, Any]
    created_at: float
    _partitions: dict[Any, dict[Any, Item]] = field(default_factory=dict)
    _hash_order: list[tuple[Any, Any]] | None = None
    _size: int = 0

    @property
    def key_names(self) -> tuple[str, ...]:
        return (self.hash_key[0],) + ((self.range_key[0],) if self.range_key else ())

    def key(self, item: Item, *, exact: bool) -> tuple[Any, Any]:
        """(partition, sort) identity of an item or Key; `exact` demands nothing but the key attributes."""
        if exact and set(item) != set(self.key_names):
            raise ValidationException("The provided key element does not match the schema")
        parts = []
        for name, kind in [k for k in (self.hash_key, self.range_key) if k is not None]:
            value = item.get(name)
            if value is None:
                if exact:
                    raise ValidationException("The provided key element does not match the schema")
                raise ValidationException(
                    f"One or more parameter values were invalid: Missing the key {name} in the item"
                )
            if kind_of(value) != kind:
                raise ValidationException(
                    f"One or more parameter values were invalid: Type mismatch for key {name} expected: {kind} actual: {kind_of(value)}"
                )
            if (kind == "S" and value["S"] == "") or (kind == "B" and value["B"] == ""):
                raise ValidationException(
                    f"One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: {name}"
                )
            parts.append(value)
        return canonical(parts[0]), (sort_key(parts[1]) if len(parts) > 1 else None)

    def get(self, key: tuple[Any, Any]) -> Item | None:
        return self._partitions.get(key[0], {}).get(key[1])

    def put(self, key: tuple[Any, Any], item: Item) -> Item | None:
        partition = self._partitions.get(key[0])
        if partition is None:
            partition = self._partitions[key[0]] = {}
            self._hash_order = None
        old = partition.get(key[1])
        partition[key[1]] = item
        self._size += item_size(item) - (item_size(old) if old else 0)
        return old

    def delete(self, key: tuple[Any, Any]) -> Item | None:
        partition = self._partitions.get(key[0])
        if partition is None or key[1] not in partition:
            return None
        old = partition.pop(key[1])
        self._size -= item_size(old)
        if not partition:
            del self._partitions[key[0]]
            self._hash_order = None
        return old

    def partition(self, hash_value: Value, *, forward: bool) -> list[tuple[Any, Item]]:
        """A partition's items as (sort key, item), in sort-key order."""
        items = self._partitions.get(canonical(hash_value), {})
        return sorted(items.items(), key=lambda pair: pair[0], reverse=not forward)

    def scan(self, after: tuple[Any, Any] | None) -> Iterator[Item]:
        """Every item in key order, starting after the item whose key is `after`."""
        if self._hash_order is None:
            self._hash_order = sorted((_order(h), h) for h in self._partitions)
        start = 0
        if after is not None:
            start = bisect.bisect_left(self._hash_order, (_order(after[0]), after[0]))
        for _, hash_value in self._hash_order[start:]:
            items = self._partitions.get(hash_value)
            if items is None:
                continue
            for sort_value in sorted(items, key=lambda s: (s is not None, s)):
                if (
                    after is not None
                    and hash_value == after[0]
                    and (sort_value is None or after[1] is None or sort_value <= after[1])
                ):
                    continue
                yield items[sort_value]

    def describe(self) -> dict[str, Any]:
        count = sum(len(p) for p in self._partitions.values())
        description = {
            **self.definition,
            "TableName": self.name,
            "TableStatus": "ACTIVE",
            "CreationDateTime": INCIDENT_EPOCH + self.created_at,
            "ItemCount": count,
            "TableSizeBytes": self._size,
            "TableArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.name}",
            "TableId": f"{zlib.crc32(self.name.encode()):012d}-cascadesim",  # the same in every process
        }
        mode = self.definition.get("BillingModeSummary", {}).get("BillingMode")
        if mode != "PAY_PER_REQUEST":
            description.setdefault("ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
        description["ProvisionedThroughput"] = {
            **description.get("ProvisionedThroughput", {}),
            "NumberOfDecreasesToday": 0,
        }
        return description


def _order(hash_value: Any) -> tuple[str, Any]:
    kind, content = hash_value
    return (kind, content)


class Storage:
    """The tables, shared by every router (DynamoDB's storage fleet sits behind its request routers)."""

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}

    def table(self, name: str) -> Table:
        table = self.tables.get(name)
        if table is None:
            raise ResourceNotFoundException(f"Requested resource not found: Table: {name} not found")
        return table

    def create_table(self, request: dict[str, Any], now: float) -> dict[str, Any]:
        name = table_name(request)
        definitions = require(request, "AttributeDefinitions", list)
        schema = require(request, "KeySchema", list)
        types: dict[str, str] = {}
        for d in definitions:
            if (
                not isinstance(d, dict)
                or not isinstance(d.get("AttributeName"), str)
                or d.get("AttributeType") not in ("S", "N", "B")
            ):
                raise ValidationException(
                    "1 validation error detected: Value at 'attributeDefinitions' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
                )
            types[d["AttributeName"]] = d["AttributeType"]
        roles = {}
        for element in schema:
            if (
                not isinstance(element, dict)
                or element.get("KeyType") not in ("HASH", "RANGE")
                or not isinstance(element.get("AttributeName"), str)
            ):
                raise ValidationException(
                    "1 validation error detected: Value at 'keySchema' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]"
                )
            roles[element["KeyType"]] = element["AttributeName"]
        if len(schema) not in (1, 2) or "HASH" not in roles or len(roles) != len(schema):
            raise ValidationException("Invalid KeySchema: Some index key schema element is not valid")
        for attribute in roles.values():
            if attribute not in types:
                raise ValidationException(
                    "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: ["
                    + attribute
                    + "], AttributeDefinitions: ["
                    + ", ".join(types)
                    + "]"
                )
        if name in self.tables:
            raise ResourceInUseException(f"Table already exists: {name}")
        billing = request.get("BillingMode", "PROVISIONED")
        if billing not in ("PROVISIONED", "PAY_PER_REQUEST"):
            raise ValidationException(
                "1 validation error detected: Value at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
            )
        if billing == "PROVISIONED" and not isinstance(request.get("ProvisionedThroughput"), dict):
            raise ValidationException(
                "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
            )
        definition: dict[str, Any] = {
            "AttributeDefinitions": definitions,
            "KeySchema": schema,
            "BillingModeSummary": {"BillingMode": billing},
        }
        if billing == "PROVISIONED":
            definition["ProvisionedThroughput"] = dict(request["ProvisionedThroughput"])
        hash_name = roles["HASH"]
        range_name = roles.get("RANGE")
        table = Table(
            name,
            (hash_name, types[hash_name]),
            (range_name, types[range_name]) if range_name else None,
            definition,
            now,
        )
        self.tables[name] = table
        return {"TableDescription": table.describe()}

    def describe_table(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"Table": self.table(table_name(request)).describe()}

    def delete_table(self, request: dict[str, Any]) -> dict[str, Any]:
        table = self.table(table_name(request))
        description = {**table.describe(), "TableStatus": "DELETING"}
        del self.tables[table.name]
        return {"TableDescription": description}

    def list_tables(self, request: dict[str, Any]) -> dict[str, Any]:
        limit = require(request, "Limit", int, optional=True) or 100
        if not 1 <= limit <= 100:
            raise ValidationException(
                "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"
            )
        start = require(request, "ExclusiveStartTableName", str, optional=True)
        names = sorted(n for n in self.tables if start is None or n > start)
        response: dict[str, Any] = {"TableNames": names[:limit]}
        if len(names) > limit:
            response["LastEvaluatedTableName"] = names[limit - 1]
        return response


def validated_key(table: Table, key: Any) -> tuple[Item, tuple[Any, Any]]:
    if not isinstance(key, dict):
        raise ValidationException(
            "1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null"
        )
    validated = {name: validate_value(value, f"Key.{name}") for name, value in key.items()}
    return validated, table.key(validated, exact=True)
