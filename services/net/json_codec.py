"""JSON as the services write and read it: byte for byte what the json module gives, at orjson's speed.

Every request and reply of a run is JSON, millions in a long virtual run; the json module's encoder and decoder took
a sixth of a compiled run's time. orjson writes the same bytes as a compact json encoder except where a float would
be written with an exponent by either (json: 1e-05 and 1e+16; orjson: 0.00001 and 1e+16), for NaN and infinity
(orjson: null), and outside ASCII where the json encoder escapes it. Where the output shows any of those, and for
anything orjson refuses (a key that is not a string, an integer past 64 bits, a dataclass), the json module itself
encodes: the bytes are always the json module's. Decoding takes orjson's answer where orjson accepts the text and
has no integer of 19 digits or more (orjson reads one past 64 bits as a float), and the json module's answer or error
otherwise.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME  # refused, as the json module does
# Where orjson's bytes may differ from the json module's: every such float shows one of these in orjson's output
# (checked against 600,000 random floats), as do NaN and infinity (null). Looked for with `in`: a regex cost more.
_UNSURE = (b"e+", b"e-", b"0.0000", b"null")


class CompactJson:
    """A compact encoder (separators "," and ":") with the bytes of `reference`."""

    def __init__(self, reference: json.JSONEncoder, *, ascii_only: bool) -> None:
        self.reference = reference
        self.ascii_only = ascii_only

    def encode(self, data: Any) -> bytes:
        try:
            out = orjson.dumps(data, option=_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError too
            return self.reference.encode(data).encode()
        if any(mark in out for mark in _UNSURE) or (self.ascii_only and not out.isascii()):
            return self.reference.encode(data).encode()
        return out


# Starlette's JSONResponse (the nodes' JSON answers), and DynamoDB's wire format (json.dumps, compact).
STARLETTE = CompactJson(
    json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")), ascii_only=False
)
DYNAMODB = CompactJson(json.JSONEncoder(separators=(",", ":")), ascii_only=True)


# orjson reads an integer past 64 bits as a float (the json module: an int): such text goes to the json module.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")
_LONG_NUMBER_TEXT = re.compile(r"[0-9]{19}")


def loads(text: bytes | str) -> Any:
    """json.loads's value (or its error) for `text`."""
    long_number = _LONG_NUMBER.search(text) if isinstance(text, bytes) else _LONG_NUMBER_TEXT.search(text)
    if long_number is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # what orjson refuses (NaN, a BOM, a lone surrogate, ...): the json module decides
    return json.loads(text)
