"""Two Locust users for benchmarks/locust_overhead.py: the same GetItem, sent plainly or through cascadesim.

`PlainUser` is a bare FastHttpUser posting to an address resolved once. `CascadeGetUser` is loadgen's CascadeUser
(resolution through the shared resolver, Host and x-deadline, the client policy, per-second outcomes) with the
same single request and no think time. Nothing else differs.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from locust import FastHttpUser, constant, task

from loadgen.locustfile import BEHAVIOURS, STUB, CascadeUser

GET_ITEM = next(t for t in BEHAVIOURS["dynamodb"].tasks if t.name == "GetItem")
GETITEM_ONLY = dataclasses.replace(BEHAVIOURS["dynamodb"], tasks=(GET_ITEM,), wait=(0.0, 0.0), outbox=0)


class CascadeGetUser(CascadeUser):
    abstract = False
    behaviour = GETITEM_ONLY


class PlainUser(FastHttpUser):
    host = "http://127.0.0.1"
    wait_time = constant(0)

    def on_start(self) -> None:
        self.rng = random.Random(1)
        found = STUB.find(GETITEM_ONLY.service)
        if isinstance(found, Exception):
            raise found
        address = found[0]
        self.url = f"http://{address}:{GETITEM_ONLY.port}/"

    @task
    def get(self) -> None:
        request = GET_ITEM.build(self.rng)
        headers: dict[str, Any] = {**request.headers, "host": GETITEM_ONLY.service}
        body: Any = request.body  # geventhttpclient sends bytes as they are; Locust's annotation says str or dict
        self.client.request("POST", self.url, data=body, headers=headers, name=request.name)
