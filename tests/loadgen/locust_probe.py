"""The Locust users' engine, alone in its own process (locust monkey-patches the process that imports it).

    CASCADESIM_LOAD_PLAN=plan.json python -m tests.loadgen.locust_probe PORT CASE...

sends each case's logical request (`POST /case/CASE` to the replay server on 127.0.0.1:PORT) through a real
CascadeUser: the shared exchange core, FastHttpUser's client, the plan's client policy. It prints one JSON object:
case -> [outcome class, error code, attempts].
"""

from __future__ import annotations

import json
import sys

from locust.env import Environment

from loadgen import locustfile
from loadgen.behaviour import classify
from services.client.exchange import Request
from services.dns.stub import StubAnswer

SERVICE = "replay.cloud.test"


def main() -> None:
    port, cases = int(sys.argv[1]), sys.argv[2:]
    locustfile.STUB.cache.keep(SERVICE, StubAnswer(["127.0.0.1"], 3600), locustfile.cloud_now())
    behaviour = locustfile.BEHAVIOURS["dynamodb"]
    probe = type("ProbeUser", (locustfile.CascadeUser,), {"behaviour": behaviour, "abstract": False})
    user = probe(Environment(user_classes=[probe]))
    user.on_start()
    ended = {}
    for case in cases:
        request = Request(SERVICE, port, "POST", f"/case/{case}", {"content-type": "application/json"}, b"{}")
        result = user.drive(user._exchange(request, locustfile.cloud_now() + 5.0), case)
        ended[case] = [classify(result.outcome), result.outcome.error_code, result.attempts]
    print(json.dumps(ended))


if __name__ == "__main__":
    main()
