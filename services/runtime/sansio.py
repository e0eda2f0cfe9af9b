"""Driving a sans-I/O generator (services/client/exchange.py, services/dns/stub.py) to its end.

The generator yields what it needs done and is sent back the answer; an engine supplies only how to perform one
step. The loop that feeds the answers back is written here once, for synchronous engines (Locust, on gevent) and
asynchronous ones (the runtime seam: anyio live, the kernel in virtual time).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar, cast

S = TypeVar("S")
T = TypeVar("T")


def drive(steps: Generator[S, Any, T], perform: Callable[[S], Any]) -> T:
    answer: Any = None
    while True:
        try:
            step = steps.send(answer)
        except StopIteration as done:
            return cast(T, done.value)
        answer = perform(step)


async def drive_async(steps: Generator[S, Any, T], perform: Callable[[S], Awaitable[Any]]) -> T:
    answer: Any = None
    while True:
        try:
            step = steps.send(answer)
        except StopIteration as done:
            return cast(T, done.value)
        answer = await perform(step)
