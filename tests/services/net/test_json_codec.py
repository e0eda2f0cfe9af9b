"""The services' JSON (services/net/json_codec.py): orjson's speed, the json module's bytes and values, always."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.net.json_codec import DYNAMODB, STARLETTE, loads

STARLETTE_REFERENCE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
DYNAMODB_REFERENCE = json.JSONEncoder(separators=(",", ":"))

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)  # past 64 bits too, which orjson refuses
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
documents = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5), max_leaves=30
)


@settings(max_examples=400, deadline=None)
@given(documents)
def test_the_bytes_are_the_json_modules(data: Any) -> None:
    """Any JSON document, floats of every size, text outside ASCII, integers past 64 bits: the same bytes as the
    json module's encoders (Starlette's for the nodes' answers, compact json.dumps for DynamoDB's)."""
    assert STARLETTE.encode(data) == STARLETTE_REFERENCE.encode(data).encode()
    assert DYNAMODB.encode(data) == DYNAMODB_REFERENCE.encode(data).encode()


@settings(max_examples=400, deadline=None)
@given(documents)
def test_decoding_gives_the_json_modules_values(data: Any) -> None:
    text = DYNAMODB_REFERENCE.encode(data)
    assert loads(text.encode()) == json.loads(text) and loads(text) == json.loads(text)


@pytest.mark.parametrize("value", [1e-05, 1e16, 5e-324, 1.7976931348623157e308, -0.0, 123456789012345.6])
def test_floats_where_the_two_libraries_write_differently(value: float) -> None:
    assert STARLETTE.encode({"v": value}) == STARLETTE_REFERENCE.encode({"v": value}).encode()


def test_what_the_json_module_refuses_or_allows_it_still_decides() -> None:
    """NaN: Starlette's encoder refuses it, DynamoDB's writes NaN; a key that is not a string is written as one;
    text orjson will not read (NaN, a BOM) is read by the json module, and unreadable text raises its error."""
    with pytest.raises(ValueError):
        STARLETTE.encode({"v": math.nan})
    assert DYNAMODB.encode({"v": math.nan}) == b'{"v":NaN}'
    assert STARLETTE.encode({1: "a"}) == b'{"1":"a"}'
    assert math.isnan(loads(b'{"v": NaN}')["v"])
    assert loads('\ufeff{"a": 1}'.encode("utf-8")) == {"a": 1}
    with pytest.raises(json.JSONDecodeError):
        loads(b'{"a": ')
    with pytest.raises(UnicodeDecodeError):
        loads(b'{"a": "\xff"}')
