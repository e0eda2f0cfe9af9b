"""How an AWS SDK reads an error reply, for the three protocols this cloud speaks.

botocore's response parsers are the reference (`botocore/parsers.py`):
- DynamoDB (`awsJson1_0`): the body's `__type`, e.g. `com.amazonaws.dynamodb.v20120810#ThrottlingException`;
  the code is what follows the last `#` (and precedes any `:`).
- Lambda (`restJson1`): the `x-amzn-ErrorType` header first, e.g. `TooManyRequestsException:http://...`; the code
  is what precedes the `:`. Without the header, the body's `code` or `Code`.
- The query protocol (EC2's, STS's: services/net/query.py): XML, the code in `<Error><Code>`; the EC2-like API's
  JSON form for the cloud's own users is the same shape, `{"Error": {"Code": ...}}`.
A reply whose body is neither keeps its status alone, as botocore's parsers fall back to the status.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from services.net.json_codec import loads

ERROR_TYPE_HEADER = "x-amzn-errortype"
_XML_CODE = re.compile(rb"<Error>.*?<Code>([^<]+)</Code>", re.DOTALL)


def error_code(status: int, headers: Mapping[str, str], body: bytes) -> str | None:
    """The error code an SDK would raise for this reply; None for a success or a reply that names none."""
    if status < 400:
        return None
    header = _header(headers, ERROR_TYPE_HEADER)
    if header:
        return _clean(header)
    if body[:1] == b"<":
        found = _XML_CODE.search(body)
        return found.group(1).decode("utf-8", "replace") if found else None
    try:
        parsed: Any = loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(parsed, dict):
        return None
    for found in (parsed.get("__type"), parsed.get("code"), parsed.get("Code"), _nested_code(parsed.get("Error"))):
        if isinstance(found, str) and found:
            return _clean(found)
    return None


def _nested_code(error: Any) -> Any:
    return error.get("Code") if isinstance(error, dict) else None


def _clean(code: str) -> str | None:
    return code.split(":", 1)[0].rpartition("#")[2] or None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (httpx and geventhttpclient headers already ignore case)."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value
