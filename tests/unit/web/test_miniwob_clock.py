"""`miniwob.run_clock`: a page timer's own error, which Playwright re-raises from `Clock.run_for` after it has run
every due timer, does not end the episode; any other failure still does."""

import asyncio

import pytest

from agentrl.environments.web import miniwob as mw


class _Clock:
    def __init__(self, error: Exception | None) -> None:
        self.error, self.ran = error, []

    async def run_for(self, ms: int) -> None:
        self.ran.append(ms)
        if self.error is not None:
            raise self.error


class _Page:
    def __init__(self, error: Exception | None) -> None:
        self.clock = _Clock(error)


def test_a_page_timers_error_is_dropped():
    page = _Page(Exception("Clock.run_for: TypeError: Cannot read properties of undefined (reading 'className')"))
    asyncio.run(mw.run_clock(page, 200))
    assert page.clock.ran == [200]


def test_other_clock_failures_still_raise():
    page = _Page(Exception("Target page, context or browser has been closed"))
    with pytest.raises(Exception, match="has been closed"):
        asyncio.run(mw.run_clock(page, 200))
