"""The virtual clock's own runner (`miniwob._RUN`, inside the env's page calls): a page timer that throws is
the page's own error and does not end the episode; the timers due after it still run and the clock moves on."""

from __future__ import annotations

import pytest

from agentrl.environments.web import miniwob as mw

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

_PAGE = ("<script>setTimeout(() => { throw new TypeError('a removed element'); }, 50);"
         "setTimeout(() => { window.later = performance.now(); }, 100);</script>")


async def _clock_page(chromium):
    await chromium.reset("about:blank", before_load=mw.install_clock)
    await chromium.page.set_content(_PAGE)
    return chromium.page


async def test_a_page_timers_error_is_dropped_and_later_timers_run(chromium):
    page = await _clock_page(chromium)
    later = await page.evaluate(f"async () => {{ {mw._CLOCK} {mw._RUN} await run(200); return window.later; }}")
    assert later is not None and later > 0


async def test_without_the_runner_the_page_error_comes_back(chromium):
    # the controller itself rethrows the page's error: what `_RUN` is there to drop
    page = await _clock_page(chromium)
    with pytest.raises(Exception, match="a removed element"):
        await page.evaluate(f"async () => {{ {mw._CLOCK} await clock.runFor(200); }}")
