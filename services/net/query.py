"""AWS's query protocol, as a server reads and answers it (EC2's and STS's wire format).

A request is `POST /` with a form body (`application/x-www-form-urlencoded`): `Action=RunInstances&Version=…`
and the action's parameters, lists flattened as `InstanceId.1=…&InstanceId.2=…` and structures as
`Filter.1.Name=…&Filter.1.Value.1=…`. The answer is XML: `<{Action}Response xmlns=…>` with the result's fields
as elements, a list's members as `<item>` (EC2) or `<member>` (the other query services). botocore's serializers
and parsers (`botocore/serialize.py`, `botocore/parsers.py`) are the reference for the names; the bodies are
built with the standard library's ElementTree, which does the escaping.

Errors come in two shapes, both read by botocore's parsers:
- EC2: `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors><RequestID>…</RequestID>
  </Response>`;
- the others (STS, IAM, SQS's query API): `<ErrorResponse xmlns=…><Error><Type>Sender</Type><Code>…</Code>
  <Message>…</Message></Error><RequestId>…</RequestId></ErrorResponse>`.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl
from xml.etree.ElementTree import Element, SubElement, tostring

from services.errors import CascadesimError
from services.net.http import HttpRequest, HttpResponse, respond

FORM = "application/x-www-form-urlencoded"
XML = "text/xml;charset=UTF-8"

MAX_FIELDS = 1000  # more fields than any action takes: refused before they are read
_request_ids = itertools.count(1)
# What XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/U+FFFF): an echoed parameter is
# written with `?` in their place, so that an error about bad input still parses.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class QueryError(CascadesimError):
    """A query-protocol error: its code, its message and the HTTP status the service answers it with."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def is_query(request: HttpRequest) -> bool:
    """Whether the request speaks the query protocol: a form body, as every AWS SDK sends it."""
    return str(request.headers.get("content-type", "")).split(";", 1)[0].strip().lower() == FORM


def parse_form(body: bytes) -> dict[str, str]:
    """The form's fields, in order. A body that is not UTF-8 once percent-decoded, or a field without `=`, is
    `MalformedQueryString`; a field given twice is `InvalidParameterValue` (AWS answers one value per name)."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=bool(text), errors="strict", max_num_fields=MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise QueryError("MalformedQueryString", "The query string is malformed or not URL-encoded UTF-8.") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise QueryError("InvalidParameterValue", f"The parameter {name} is given more than once.")
        fields[name] = value
    return fields


def flat_list(fields: Mapping[str, str], prefix: str) -> list[str]:
    """`Prefix.1`, `Prefix.2`, … in index order; an index that is not a positive integer, or a gap, is invalid."""
    found: dict[int, str] = {}
    for name, value in fields.items():
        head, dot, index = name.partition(".")
        if head != prefix or not dot:
            continue
        if not index.isdigit() or index.startswith("0") or int(index) > 1000:
            raise QueryError("InvalidParameterValue", f"The parameter {name} has no valid list index.")
        found[int(index)] = value
    if sorted(found) != list(range(1, len(found) + 1)):
        raise QueryError("InvalidParameterValue", f"The members of {prefix} must be numbered 1, 2, … without gaps.")
    return [found[k] for k in range(1, len(found) + 1)]


_FILTER = re.compile(r"Filter\.(\d+)\.(Name|Value\.(\d+))$")


def filters(fields: Mapping[str, str]) -> dict[str, list[str]]:
    """EC2's `Filter.N.Name` and `Filter.N.Value.M`: each filter's name and values."""
    names: dict[int, str] = {}
    values: dict[int, dict[int, str]] = {}
    for name, value in fields.items():
        if not name.startswith("Filter."):
            continue
        match = _FILTER.match(name)
        if match is None:
            raise QueryError("InvalidParameterValue", f"The parameter {name} is not a valid filter field.")
        n = int(match.group(1))
        if match.group(3) is None:
            names[n] = value
        else:
            values.setdefault(n, {})[int(match.group(3))] = value
    if set(values) - set(names):
        raise QueryError("InvalidParameterValue", "A filter's values were given without its name.")
    chosen: dict[str, list[str]] = {}
    for n in sorted(names):
        chosen.setdefault(names[n], []).extend(values.get(n, {})[k] for k in sorted(values.get(n, {})))
    return chosen


def integer(fields: Mapping[str, str], name: str, default: int | None = None) -> int | None:
    """An integer parameter, or `default` when it is absent; anything else is `InvalidParameterValue`."""
    raw = fields.get(name)
    if raw is None:
        return default
    try:
        return int(raw, 10)
    except ValueError:
        raise QueryError("InvalidParameterValue", f"Invalid value '{raw}' for {name}: not an integer.") from None


def boolean(fields: Mapping[str, str], name: str) -> bool:
    raw = fields.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise QueryError("InvalidParameterValue", f"Invalid value '{fields[name]}' for {name}: not a boolean.")
    return raw == "true"


def request_id() -> str:
    """A request id in AWS's shape (a UUID), counted rather than drawn: it takes nothing from the run's seeds."""
    return str(uuid.UUID(int=next(_request_ids), version=4))


def xml_response(action: str, namespace: str, result: Mapping[str, Any], *, member: str = "item") -> HttpResponse:
    """`<{action}Response xmlns=namespace>` with `result` as elements (dicts nest, lists hold `member`s, None is
    left out, booleans are `true`/`false`) and the request id: EC2's `<requestId>` at the top when `member` is
    "item", otherwise `<ResponseMetadata><RequestId>` after the result, as the other query services answer."""
    root = Element(f"{action}Response", xmlns=namespace)
    if member == "item":
        SubElement(root, "requestId").text = request_id()
        _fill(root, result, member)
    else:
        _fill(root, result, member)
        SubElement(SubElement(root, "ResponseMetadata"), "RequestId").text = request_id()
    return _xml(root, 200)


def ec2_error(code: str, message: str, status: int) -> HttpResponse:
    root = Element("Response")
    error = SubElement(SubElement(root, "Errors"), "Error")
    SubElement(error, "Code").text = code
    SubElement(error, "Message").text = xml_text(message)
    SubElement(root, "RequestID").text = request_id()
    return _xml(root, status)


def query_error(namespace: str, code: str, message: str, status: int) -> HttpResponse:
    root = Element("ErrorResponse", xmlns=namespace)
    error = SubElement(root, "Error")
    SubElement(error, "Type").text = "Sender" if status < 500 else "Receiver"
    SubElement(error, "Code").text = code
    SubElement(error, "Message").text = xml_text(message)
    SubElement(root, "RequestId").text = request_id()
    return _xml(root, status)


def _fill(parent: Element, value: Any, member: str) -> None:
    if isinstance(value, Mapping):
        for name, inner in value.items():
            if inner is not None:
                _fill(SubElement(parent, name), inner, member)
    elif isinstance(value, list | tuple):
        for inner in value:
            _fill(SubElement(parent, member), inner, member)
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    else:
        parent.text = xml_text(str(value))


def xml_text(text: str) -> str:
    return _NOT_XML.sub("?", text)


def _xml(root: Element, status: int) -> HttpResponse:
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8", xml_declaration=False)
    return respond(body, status, XML)
