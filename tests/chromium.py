"""Real headless Chromium for the tests that open pages (reports, the operator's console): Debian's chromium, driven by
Playwright, with the flags that keep it off the network. Screenshots go to test-artifacts/ at the top of the checkout.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    """Skip the calling module without Debian's chromium (on CI, where .ci/run installs it, fail instead)."""
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI"):
            raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


def launched() -> Iterator[Any]:
    """A headless Chromium for a module's tests (yield it from a module-scoped fixture)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def artifact(name: str) -> Path:
    """Where a screenshot goes."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
