"""A node that kill_node stops and revives (virtual time)."""

from __future__ import annotations

from services import runtime
from services.events import EventLog
from services.net.http import HttpRequest, HttpResponse, Routes, json_response
from services.net.virtual_network import VirtualNetwork
from services.node.restartable import HttpNode
from services.runtime.kernel import run_in_virtual_time


def test_a_revive_right_after_a_kill_brings_the_node_back() -> None:
    """kill() then revive() in the same instant, before the node's serving has wound down: it listens again."""

    async def main() -> list[bool]:
        async def ok(request: HttpRequest) -> HttpResponse:
            return json_response({"ok": True})

        node = HttpNode(
            "n", VirtualNetwork(0.0005), Routes([("GET", "/", ok)]), ("127.0.9.1", 80), EventLog(runtime.current_time)
        )
        seen = []
        async with runtime.create_task_group() as tg:
            await tg.start(node.run)
            node.kill()
            node.revive()
            await runtime.sleep(1)
            seen.append(node.up)
            tg.cancel_scope.cancel()
        return seen

    assert run_in_virtual_time(main) == [True]
