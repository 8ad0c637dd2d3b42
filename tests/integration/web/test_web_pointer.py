"""The pointer and keyboard actions in a real Chromium, on small pages that record the events they get, plus
MiniWoB++ pages: UTF-8, ids for script-clickable elements, the DOM-click fallback for covered elements, and
re-seeded episodes that read exactly like freshly loaded ones."""

from __future__ import annotations

import json
import urllib.parse

import pytest
import pytest_asyncio

from agentrl.environments.web import miniwob as mw
from agentrl.environments.web.browser import parse_action
from agentrl.types import Task

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PAGE = """<!doctype html><meta charset="utf-8"><body style="margin:0">
<div id="log"></div>
<input id="f" style="position:absolute;left:10px;top:40px;width:120px">
<span id="plain" style="position:absolute;left:10px;top:80px">Plain handler</span>
<div id="cover-me" style="position:absolute;left:10px;top:120px;width:60px;height:30px">Covered</div>
<div id="lid" style="position:absolute;left:0;top:110px;width:200px;height:60px;background:#eee"></div>
<div id="src" style="position:absolute;left:10px;top:200px;width:30px;height:30px;background:red"></div>
<div id="dst" style="position:absolute;left:150px;top:200px;width:30px;height:30px;background:blue"></div>
<svg width="100" height="60" style="position:absolute;left:10px;top:260px">
  <circle cx="30" cy="30" r="20" fill="green"></circle></svg>
<script>
  const log = []; window.seen = log;
  const f = document.getElementById("f");
  f.addEventListener("keydown", e => log.push("keydown:" + (e.ctrlKey ? "C-" : "") + e.key));
  document.getElementById("plain").addEventListener("click", () => log.push("plain"));
  document.getElementById("cover-me").addEventListener("click", e => log.push("covered:" + e.isTrusted));
  document.getElementById("lid").addEventListener("mousedown", () => log.push("lid"));
  document.getElementById("dst").addEventListener("mouseup", () => log.push("dropped"));
  document.getElementById("src").addEventListener("mousedown", () => log.push("grabbed"));
  document.querySelector("circle").addEventListener("click", () => log.push("circle"));
</script>"""


@pytest_asyncio.fixture(loop_scope="session")
async def page_browser(chromium):
    saved = (chromium.boxes, chromium.handlers, chromium.svg)
    chromium.boxes = chromium.handlers = chromium.svg = True
    obs = await chromium.reset("data:text/html;charset=utf-8," + urllib.parse.quote(PAGE))
    yield chromium, obs
    chromium.boxes, chromium.handlers, chromium.svg = saved


async def seen(browser) -> list[str]:
    return await browser.page.evaluate("() => window.seen.slice()")


async def act(browser, reply: str):
    obs = await browser.act(parse_action(reply))
    assert obs.error is None, obs.error
    return obs


async def test_script_handlers_and_svg_shapes_get_ids_and_boxes(page_browser):
    browser, obs = page_browser
    plain = obs.find(name="Plain handler")
    circle = obs.find(role="circle")
    assert plain is not None and plain.role == "clickable" and plain.box is not None
    assert circle is not None and circle.name == "green" and circle.box == (20, 270, 40, 40)
    assert f"box={json.dumps(list(plain.box), separators=(',', ':'))}" in obs.text
    await act(browser, f"click({plain.id})")
    await act(browser, f"click({circle.id})")
    assert await seen(browser) == ["plain", "circle"]


async def test_a_covered_element_gets_the_dom_click_and_coordinates_hit_what_is_on_top(page_browser):
    browser, obs = page_browser
    covered = obs.find(name="Covered")
    assert covered is not None
    await act(browser, f"click({covered.id})")  # the lid covers it: the official env's DOM click, at once
    assert await seen(browser) == ["covered:false"]
    await act(browser, "click_xy(20, 130)")  # a real click there lands on the lid
    assert (await seen(browser))[-1] == "lid"


async def test_typing_is_keystrokes_and_chords_reach_the_page(page_browser):
    browser, obs = page_browser
    field = obs.find(role="textbox")
    await act(browser, f'type({field.id}, "oK")')
    await act(browser, 'press("ctrl+a")')
    await act(browser, 'type("x")')
    log = await seen(browser)
    assert log[:2] == ["keydown:o", "keydown:K"] and "keydown:C-a" in log and log[-1] == "keydown:x"
    obs = await act(browser, f'type({field.id}, "ÖK again")')  # replaces what the field held; Ö is text input
    assert obs.element(field.id).value == "ÖK again"


async def test_drag_by_ids_and_by_coordinates(page_browser):
    browser, obs = page_browser
    src, dst = obs.find(name="src"), obs.find(name="dst")
    assert src is not None and dst is not None, obs.text
    await act(browser, f"drag({src.id}, {dst.id})")
    assert await seen(browser) == ["grabbed", "dropped"]
    await act(browser, "drag_xy(25, 215, 165, 215)")
    assert await seen(browser) == ["grabbed", "dropped", "grabbed", "dropped"]


# -- MiniWoB++ pages ----------------------------------------------------------------------------------------

@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(chromium):
    e = mw.MiniWoBEnv(browser=chromium)
    yield e
    await e.close()


def task(name: str, seed: int) -> Task:
    return Task(id=f"{name}/seed{seed}", env_kwargs={"task": name, "seed": seed})


async def test_unicode_pages_are_read_as_utf8(env):
    obs = (await env.reset(task("unicode-test", 0), 0))["agent"]
    assert 'Click on the "ÖK" button.' in obs and '"Cancél"' in obs and "Ã" not in obs


async def test_script_clickable_tree_items_have_ids(env):
    obs = (await env.reset(task("navigate-tree", 1), 0))["agent"]
    items = [it for it in mw.parse_page(mw.observation_parts(obs)[2]) if it.id is not None]
    assert len(items) >= 3 and all(it.role == "clickable" and it.box for it in items)


async def test_covered_button_in_click_button_sequence_is_clickable(env):
    obs = (await env.reset(task("click-button-sequence", 6), 0))["agent"]
    for name in ("ONE", "TWO"):
        item = next(it for it in mw.parse_page(mw.observation_parts(obs)[2]) if it.name == name)
        result = await env.step({"agent": f"click({item.id})"})
        assert result.infos["agent"]["valid_action"]
        obs = result.obs.get("agent", obs)
    assert result.terminated["agent"] and result.infos["agent"]["miniwob_raw_reward"] == 1.0


async def test_social_media_more_click_opens_the_menu_after_a_garbage_collection(chromium, env):
    # the first real click on a 'more' icon swaps in its :hover image; the preloaded one must still be in
    # Blink's memory cache then, whenever the page's heap was last collected (here: just before the click)
    for seed in (0, 9):
        await env.reset(task("click-button", 0), 0)  # social-media loads afresh, as in the conformance test
        obs = (await env.reset(task("social-media", seed), 0))["agent"]
        cdp = await chromium.page.context.new_cdp_session(chromium.page)
        await cdp.send("HeapProfiler.collectGarbage")
        await cdp.detach()
        first = parse_action(mw.solve(obs))  # the instruction names a menu entry: the post's "more" icon
        by_id = {it.id: it for it in mw.parse_page(mw.observation_parts(obs)[2]) if it.id is not None}
        assert first.kind == "click" and by_id[first.target].name.split()[0] == "more", obs
        result = await env.step({"agent": str(first)})
        assert result.infos["agent"]["valid_action"]
        opened = await chromium.page.evaluate("() => document.querySelectorAll('#area ul:not(.hide)').length")
        assert opened == 1, f"seed {seed}: {first} did not open the post's menu"


ISOLATION_TASKS = ("click-checkboxes", "enter-text", "choose-list", "navigate-tree", "click-tab", "login-user")


@pytest.mark.parametrize("name", ISOLATION_TASKS)
async def test_a_reseeded_page_reads_like_a_fresh_one(chromium, env, name):
    fresh = mw.MiniWoBEnv(browser=chromium, reseed=False)
    try:
        expected = (await fresh.reset(task(name, 5), 0))["agent"]
    finally:
        await fresh.close()
    obs = (await env.reset(task(name, 2), 0))["agent"]  # a fresh load (the last page was not this env's)
    page = chromium.page
    for _ in range(3):  # play the other seed part way: clicks, typing, focus
        result = await env.step({"agent": mw.solve(obs) if "type(" not in mw.solve(obs) else
                                 mw.solve(obs).replace('")', ' leak")')})
        if result.terminated["agent"]:
            break
        obs = result.obs["agent"]
    again = (await env.reset(task(name, 5), 0))["agent"]
    assert chromium.page is page, "the second reset re-seeded the loaded page"
    assert again == expected
    state = await mw.read_state(page)
    assert not state.done and state.elapsed_ms == 0 and state.raw_reward == 0.0


async def play(env, name: str, seed: int) -> list:
    """The oracle's episode: every observation, reward and info, in order."""
    obs = (await env.reset(task(name, seed), 0))["agent"]
    trace: list = [obs]
    for _ in range(40):
        result = await env.step({"agent": mw.solve(obs)})
        trace.append((result.obs, result.rewards, result.terminated, result.infos))
        if result.terminated["agent"]:
            break
        obs = result.obs["agent"]
    return trace


async def test_click_pie_animation_runs_on_the_virtual_clock(chromium):
    """Raphael keeps the requestAnimationFrame it finds at load; on a real one the wheel's spreading took a
    different number of waits from run to run. Two fresh loads and a re-seeded page must play one episode alike."""
    runs = []
    for _ in range(2):
        fresh = mw.MiniWoBEnv(browser=chromium, reseed=False)
        try:
            runs.append(await play(fresh, "click-pie", 0))
        finally:
            await fresh.close()
    reused = mw.MiniWoBEnv(browser=chromium)
    try:
        await play(reused, "click-pie", 1)
        page = chromium.page
        runs.append(await play(reused, "click-pie", 0))
        assert chromium.page is page, "the second episode re-seeded the loaded page"
    finally:
        await reused.close()
    first = runs[0]
    assert len(first) >= 4, "the oracle opens the wheel, waits for it to spread, then clicks"
    assert first[-1][3]["agent"]["miniwob_raw_reward"] == 1.0
    assert runs[1] == first
    assert runs[2] == first
