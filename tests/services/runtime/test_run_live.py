"""The live loop: asyncio by default, trio on request, and quiet about connections cancelled as servers stop."""

from __future__ import annotations

import asyncio
import logging

import pytest
import sniffio

from services import runtime


async def _which() -> str:
    return sniffio.current_async_library()


def test_live_runs_on_asyncio_unless_told_trio(monkeypatch: pytest.MonkeyPatch) -> None:
    """`run_live` runs on asyncio; CASCADESIM_LIVE_BACKEND=trio runs it on trio; another value is refused by name."""
    assert runtime.run_live(_which) == "asyncio"
    monkeypatch.setenv("CASCADESIM_LIVE_BACKEND", "trio")
    assert runtime.run_live(_which) == "trio"
    monkeypatch.setenv("CASCADESIM_LIVE_BACKEND", "uvloop")
    with pytest.raises(ValueError, match="CASCADESIM_LIVE_BACKEND='uvloop': must be one of asyncio, trio"):
        runtime.run_live(_which)


async def _report(error: BaseException) -> None:
    loop = asyncio.get_running_loop()
    loop.call_exception_handler({"message": "Exception in callback", "exception": error})


def test_a_cancelled_connection_is_not_reported_but_a_real_error_is(caplog: pytest.LogCaptureFixture) -> None:
    """Python 3.11's streams report a connection task cancelled as its server stops; only real errors are logged."""
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        runtime.run_live(lambda: _report(asyncio.CancelledError()))
        assert caplog.records == []
        runtime.run_live(lambda: _report(OSError("a real one")))
    assert [r.getMessage() for r in caplog.records] == ["Exception in callback"]
