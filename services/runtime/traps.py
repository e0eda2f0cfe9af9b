"""What a task awaits to ask the virtual kernel for something (services/runtime/kernel.py answers each kind).

A generator-based coroutine: it yields (kind, argument) to whoever drives the task and returns what it is sent back.
It lives alone and stays Python in the compiled build (setup.py): a compiled generator is not a coroutine to await.
"""

from __future__ import annotations

import types
from collections.abc import Generator
from typing import Any


@types.coroutine
def trap(kind: int, argument: Any = None) -> Generator[Any, Any, Any]:
    return (yield (kind, argument))
