"""AWS STS's query protocol, for a declared service that says `protocol = "sts"`: what an SDK sends and reads.

    POST /   Content-Type: application/x-www-form-urlencoded
             Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::…:role/app&RoleSessionName=s&DurationSeconds=3600
             Action=GetCallerIdentity&Version=2011-06-15

`AssumeRole` runs the service's declared `AssumeRole` operation (its calls: the credentials kept in DynamoDB,
say) and answers STS's XML with fresh session credentials; `GetCallerIdentity` runs the declared operation of its
name, or else AssumeRole's calls (the session is looked up where AssumeRole keeps it), and names the caller by the
access key its signature carries. So an SDK's credentials fail where the cloud's own STS users fail: while
DynamoDB's record is empty, while the service's NLB flaps. Errors are STS's `<ErrorResponse>`: `Throttling` (400)
when the node's capacity model refuses, `ServiceUnavailable` (503) when a call failed with nothing cached,
`ValidationError`, `MissingAction`, `InvalidAction`, `NoSuchVersion`, `MalformedQueryString` (400) for requests
STS refuses.

A session lasts `DurationSeconds` (900–43,200; 3,600 by default) divided by `session_scale`: a live replay played
k times faster sets k, so that an hour-long session of the replay lasts 3,600/k s of real time and a program asks
STS again as often as it would have in the incident. (botocore refreshes credentials within 15 minutes of their
expiry, so a session shorter than that is asked for again on every call.) Signatures are not checked.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from services.net.http import HttpResponse
from services.net.query import QueryError, integer, query_error, xml_response

VERSION = "2011-06-15"
NAMESPACE = f"https://sts.amazonaws.com/doc/{VERSION}/"
ACCOUNT = "000000000000"
ACTIONS = {
    "AssumeRole": ("RoleArn", "RoleSessionName", "DurationSeconds", "ExternalId", "Policy", "SourceIdentity"),
    "GetCallerIdentity": (),
}
COMMON = ("Action", "Version", "AWSAccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "Timestamp",
          "Expires", "SecurityToken", "X-Amz-")  # fmt: skip
ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$")
SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}$")
TOKEN_PREFIX = "cascadesim-sts/"


class StsSessions:
    """What STS hands out. A session's token carries who it is (its user id, account and ARN), so that any of the
    service's nodes (several behind an NLB) can answer GetCallerIdentity for a caller that signs with it."""

    def __init__(self, name: str, session_scale: float = 1.0) -> None:
        self.name = name
        self.session_scale = session_scale
        self._issued = itertools.count(1)

    def check(self, fields: Mapping[str, str]) -> str:
        """The action a well-formed request names; otherwise the error STS answers before doing anything."""
        action = fields.get("Action")
        if not action:
            raise QueryError("MissingAction", "Missing Action")
        if action not in ACTIONS:
            raise QueryError("InvalidAction", f"Could not find operation {action} for version {VERSION}")
        version = fields.get("Version")
        if version != VERSION:
            raise QueryError("NoSuchVersion", f"Unsupported API version: {version}")
        for name in fields:
            if not name.startswith(COMMON + ACTIONS[action]):
                raise QueryError("InvalidParameterValue", f"The parameter {name} is not recognized.")
        if action == "AssumeRole":
            self._assume_role_fields(fields)
        return action

    def _assume_role_fields(self, fields: Mapping[str, str]) -> tuple[str, str, str, int]:
        arn, session = fields.get("RoleArn"), fields.get("RoleSessionName")
        if arn is None:
            raise _invalid("null", "roleArn", "Member must not be null")
        if session is None:
            raise _invalid("null", "roleSessionName", "Member must not be null")
        if len(arn) < 20 or len(arn) > 2048:
            raise _invalid(arn, "roleArn", "Member must have length between 20 and 2048")
        found = ROLE_ARN.match(arn)
        if found is None:
            raise QueryError("ValidationError", f"{arn} is invalid")
        if not SESSION_NAME.match(session):
            raise _invalid(session, "roleSessionName", r"Member must satisfy regular expression pattern: [\w+=,.@-]*")
        duration = integer(fields, "DurationSeconds", 3600)
        assert duration is not None
        if not 900 <= duration <= 43200:
            raise _invalid(str(duration), "durationSeconds", "Member must have value between 900 and 43200")
        return found.group(1), found.group(3), session, duration

    def answer(self, action: str, fields: Mapping[str, str], token: str | None) -> HttpResponse:
        """The action's answer, once its declared calls succeeded; `token` is the caller's session token (the
        `X-Amz-Security-Token` header), if it signs with a session's credentials."""
        if action == "AssumeRole":
            return self._assume_role(fields)
        user_id, account, arn = _who(token) or (f"AIDA{ACCOUNT}", ACCOUNT, _user_arn())
        result = {"UserId": user_id, "Account": account, "Arn": arn}
        return xml_response(action, NAMESPACE, {"GetCallerIdentityResult": result}, member="member")

    def _assume_role(self, fields: Mapping[str, str]) -> HttpResponse:
        account, role, session, duration = self._assume_role_fields(fields)
        n = next(self._issued)
        secret = hashlib.sha512(f"{self.name}/{n}".encode()).hexdigest()
        access_key = "ASIA" + secret[:16].upper()
        role_id = "AROA" + hashlib.sha256(f"{account}/{role}".encode()).hexdigest()[:17].upper()
        arn = f"arn:aws:sts::{account}:assumed-role/{role}/{session}"
        expires = datetime.fromtimestamp(time.time() + duration / self.session_scale, UTC)
        result = {
            "Credentials": {
                "AccessKeyId": access_key,
                "SecretAccessKey": secret[16:56],
                "SessionToken": _token(f"{role_id}:{session}", account, arn, secret),
                "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "AssumedRoleUser": {"AssumedRoleId": f"{role_id}:{session}", "Arn": arn},
        }
        return xml_response("AssumeRole", NAMESPACE, {"AssumeRoleResult": result}, member="member")

    @staticmethod
    def error(code: str, message: str, status: int) -> HttpResponse:
        return query_error(NAMESPACE, code, message, status)


def _invalid(value: str, field: str, rule: str) -> QueryError:
    shown = value if value == "null" else f"'{value}'"
    return QueryError(
        "ValidationError",
        f"1 validation error detected: Value {shown} at '{field}' failed to satisfy constraint: {rule}",
    )


def _token(user_id: str, account: str, arn: str, secret: str) -> str:
    who = base64.urlsafe_b64encode("\n".join((user_id, account, arn)).encode()).decode()
    return f"{TOKEN_PREFIX}{who}.{secret[56:]}"


def _who(token: str | None) -> tuple[str, str, str] | None:
    """The user id, account and ARN a session token of ours carries; None for any other token."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    try:
        user_id, account, arn = base64.urlsafe_b64decode(token[len(TOKEN_PREFIX) :].split(".")[0]).decode().split("\n")
    except (ValueError, UnicodeDecodeError):
        return None
    return user_id, account, arn


def _user_arn() -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/cascadesim"
