"""Browser tests: the web pages in headless Chromium (Debian's `chromium`), driven by Playwright's Python client.

`live_gateway` is `gateway run` as a real process (gateway + simulators) in a temporary directory, shared by the
session's browser tests; its development accounts come from keys/dev-accounts.txt written at first start.
Without Chromium the tests skip, unless GATEWAY_TEST_REQUIRE_BROWSER=1 (CI) makes that a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.browser_support import CHROMIUM, LiveGateway, start_live_gateway

REQUIRE_ENV = "GATEWAY_TEST_REQUIRE_BROWSER"


def _chromium_or_skip() -> str:
    path = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if path is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"Chromium is required ({REQUIRE_ENV}=1) but not installed (Debian package `chromium`)")
        pytest.skip("Chromium not installed (Debian package `chromium`)")
    return path


@pytest.fixture(scope="session")
def live_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    """One running gateway shared by the session's browser tests (they must not assume an empty log)."""
    with start_live_gateway(tmp_path_factory.mktemp("browser-gateway")) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium per test module: Playwright's sync API runs its own event loop in this thread, so it is stopped
    after each browser module rather than at session end, before the suite's async tests run again."""
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page per test."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()
