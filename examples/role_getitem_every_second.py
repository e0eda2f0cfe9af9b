"""An ordinary boto3 program with a role's credentials only: it reads one item from DynamoDB once a second and
says how each call went, and whether what failed was DynamoDB or its credentials (STS).

Nothing in it knows about cascadesim: its credentials come from its profile (a role to assume), as in a container
or on an instance. Put it through the incident with its credentials from the cloud's STS:

    cascadesim exec scenarios/aws-2025-10-19.toml --assume-role -- python examples/role_getitem_every_second.py

Under `exec --assume-role` boto3's own assume-role provider asks the replay's STS (AssumeRole, in STS's protocol)
for the credentials each call signs with. The calls succeed before the race; while DynamoDB's record is empty they
fail, first in their credentials (STS keeps them in DynamoDB) and then at DynamoDB itself; while STS's load balancer
flaps, hours later, DynamoDB is fine but AssumeRole fails now and then; and after the operators' fixes they
succeed. Its exit status is 0 when its last call succeeded, 1 when it did not.
"""

from __future__ import annotations

import argparse
import signal
import time
from collections import Counter
from types import FrameType

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

TABLE = "role-greetings"
stopping = False


def stop(signum: int, frame: FrameType | None) -> None:
    global stopping
    stopping = True


def failure(exc: Exception) -> str:
    """What failed: the credentials (an AssumeRole at STS) or DynamoDB, and how."""
    if isinstance(exc, ClientError):
        where = "credentials" if exc.operation_name == "AssumeRole" else "DynamoDB"
        return f"{where}: {exc.response['Error']['Code']}"
    where = "credentials" if ".cloud.test" in str(exc) and "sts." in str(exc) else "DynamoDB"
    return f"{where}: {type(exc).__name__}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=310.0, help="how long to keep calling (default 310)")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, stop)
    # Short timeouts for every client of the session, the one boto3 fetches the role's credentials with included
    # (botocore's default would wait 60 s for STS).
    session = botocore.session.get_session()
    session.set_default_client_config(Config(retries={"mode": "standard"}, connect_timeout=1, read_timeout=2))
    aws = boto3.Session(botocore_session=session)
    dynamodb = aws.client("dynamodb")
    identity = aws.client("sts").get_caller_identity()
    print(f"signed in as {identity['Arn']}", flush=True)
    try:
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    dynamodb.put_item(TableName=TABLE, Item={"id": {"S": "hello"}, "text": {"S": "hello, world"}})

    start = time.monotonic()
    last_ok = False
    counts: Counter[str] = Counter()
    while time.monotonic() - start < args.seconds and not stopping:
        began = time.monotonic()
        try:
            item = dynamodb.get_item(TableName=TABLE, Key={"id": {"S": "hello"}})["Item"]
            outcome, last_ok = f"ok: {item['text']['S']}", True
        except (ClientError, BotoCoreError) as exc:
            outcome, last_ok = failure(exc), False
        counts[outcome.split(":")[0] if last_ok else outcome] += 1
        print(f"{began - start:6.1f} s  GetItem  {outcome}", flush=True)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - began)))
    print(f"calls: {dict(counts)}; last call {'succeeded' if last_ok else 'failed'}", flush=True)
    return 0 if last_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
