"""The virtual clock's own runner (`miniwob._RUN`, inside the env's page calls): a page timer that throws is
the page's own error and does not end the episode; the timers due after it still run and the clock moves on.
A drag's moves take page time on that clock (`ChromiumBrowser.drag_pace`), as a real mouse's moves do."""

from __future__ import annotations

import itertools

import pytest

from agentrl.environments.web import miniwob as mw
from agentrl.types import Task

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


# every mouse move the page hears: [page time, x, y, buttons]
_RECORD_MOVES_JS = """() => { window.moves = [];
  document.addEventListener("mousemove", e => window.moves.push([performance.now(), e.clientX, e.clientY, e.buttons]),
                            true); }"""


async def _drag_moves(chromium, action: str, **config) -> tuple[list[list[float]], mw.MiniWoBEnv]:
    env = mw.MiniWoBEnv(browser=chromium, **config)
    await env.reset(Task(id="drag-items-grid/seed0", env_kwargs={"task": "drag-items-grid", "seed": 0}), 0)
    await chromium.page.evaluate(_RECORD_MOVES_JS)
    await env.step({mw.AGENT: action})
    return [m for m in await chromium.page.evaluate("() => window.moves") if m[3] == 1], env


async def test_drag_moves_take_a_frame_of_page_time_each_on_the_virtual_clock(chromium):
    chromium.drag_pace = None  # what a shared browser had before: the env must put it back
    moves, env = await _drag_moves(chromium, "drag_xy(20, 60, 100, 140)")
    try:
        # the points Playwright's steps=8 gives, each a frame (16 ms) of page time after the one before
        assert [(x, y) for _, x, y, _ in moves] == [(20 + 10 * i, 60 + 10 * i) for i in range(1, 9)]
        assert [b[0] - a[0] for a, b in itertools.pairwise(moves)] == [mw._FRAME_TICKS] * 7
        # the env counts that time in its ticks, which a re-seed aligns the clock from
        assert env._ticks == round(await chromium.page.evaluate("() => performance.now()"))
    finally:
        await env.close()
    assert chromium.drag_pace is None


async def test_drag_moves_on_the_real_clock_are_not_paced(chromium):
    moves, env = await _drag_moves(chromium, "drag_xy(20, 60, 100, 140)", clock="real")
    try:
        assert chromium.drag_pace is None  # real time passes between the moves by itself
        assert [(x, y) for _, x, y, _ in moves] == [(20 + 10 * i, 60 + 10 * i) for i in range(1, 9)]
    finally:
        await env.close()
