"""Shared fixtures of the web tests (shop and MiniWoB++): ONE Chromium for the whole session, and a check at
the end of the session that no chromium process started by the tests is still running.

Tests that use `chromium` must run on the session event loop (Playwright objects belong to the loop that
made them)::

    pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

Pass the shared browser to an env (`ShopEnv(browser=chromium)`): an env closes only browsers it made.
"""

from __future__ import annotations

import pytest

from agentrl.environments.web.browser import ChromiumBrowser, live_chromium_pids


@pytest.fixture(scope="session", autouse=True)
def no_chromium_left_behind():
    """Runs last: every chromium started by this module (shared or owned by an env) must be gone."""
    yield
    left = live_chromium_pids()
    assert left == [], f"chromium processes left running after the web tests: {left}"


@pytest.fixture(scope="session")
async def chromium():
    """One real headless Chromium for every web test; each env reset still gets a fresh context."""
    browser = ChromiumBrowser()
    await browser.start()
    yield browser
    await browser.close()
