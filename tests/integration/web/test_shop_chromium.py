"""The shop through real headless Chromium: scripted purchases score exactly what WebShop's formula says, the
page text matches the text browser's, contexts are fresh per episode, nothing leaves loopback, and a browser
whose owner dies does not outlive it."""

import asyncio
import http.server
import threading

import pytest

from agentrl import registry
from agentrl.environments.web.browser import browser_pool, live_chromium_pids, parse_action
from agentrl.environments.web.catalogue import Goal, shipped_catalogue, webshop_reward
from agentrl.environments.web.shop import ShopEnv, rubric, scripted_policy, tasks
from agentrl.rollout import run_episode

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

CAT = {p.id: p for p in shipped_catalogue()}


async def test_scripted_shopper_buys_the_goal_for_reward_one(chromium):
    env = ShopEnv(browser=chromium)
    for task in tasks("test")[:2]:
        ep = await run_episode(env, scripted_policy(0), task, 0, rubric(), max_turns=20, close=False)
        assert ep.status.value == "ok", ep.error
        assert ep.outcome_rewards["shopper"]["webshop"] == 1.0
        assert ep.turns[-1].info["webshop"]["r_type"] == 1.0
    await env.close()
    assert chromium.pid is not None  # a shared browser stays open after the env closes


async def _buy(env, task, pick, options):
    """Search for the goal, open product `pick`, choose `options`, click Buy Now; returns the last step."""
    goal = Goal.from_dict(task.reference["goal"])
    obs = await env.reset(task, 0)
    page = obs["shopper"][-1]["content"]
    steps = [f'type(1, "{CAT[pick].title}")', 'press("Enter")']
    for reply in steps:
        result = await env.step({"shopper": reply})
        assert result.infos["shopper"]["valid"], result.obs
    page = result.obs["shopper"]
    result = await env.step({"shopper": f"click({_link_id(page, CAT[pick].title)})"})
    page = result.obs["shopper"]
    for name, value in options.items():
        result = await env.step({"shopper": f'select({_id_of(page, "combobox", name)}, "{value}")'})
        assert result.infos["shopper"]["valid"], result.obs
        page = result.obs["shopper"]
    result = await env.step({"shopper": f"click({_id_of(page, 'button', 'Buy Now')})"})
    assert result.terminated["shopper"]
    return goal, result.infos["shopper"]


def _id_of(page, role, name):
    import re

    m = re.search(rf'^\[(\d+)\] {role} "{re.escape(name)}"', page, re.MULTILINE)
    assert m, (role, name, page)
    return int(m.group(1))


def _link_id(page, title):
    return _id_of(page, "link", title)


async def test_wrong_products_and_options_score_the_formulas_lower_values(chromium):
    env = ShopEnv(browser=chromium)
    task = next(t for t in tasks("test") if len(t.reference["goal"]["options"]) == 2)
    goal = Goal.from_dict(task.reference["goal"])
    target = CAT[goal.product_id]
    n = len(goal.attributes) + len(goal.options) + 1
    try:
        # the right product, both options right: 1.0
        _, info = await _buy(env, task, target.id, goal.options)
        assert info["webshop"]["reward"] == 1.0
        # the right product, one option wrong: one match fewer
        first = next(iter(goal.options))
        wrong_value = next(v for v in target.options[first] if v != goal.options[first])
        _, info = await _buy(env, task, target.id, {**goal.options, first: wrong_value})
        assert info["webshop"]["reward"] == pytest.approx((n - 1) / n)
        assert info["purchase"]["options"][first] == wrong_value
        # the right type, a product with other attributes and no options chosen: what the formula says
        other = next(p for p in CAT.values() if p.kind == target.kind and p.id != target.id
                     and set(p.attributes) != set(target.attributes))
        _, info = await _buy(env, task, other.id, {})
        expected = webshop_reward(other, goal, {})["reward"]
        assert info["webshop"]["reward"] == pytest.approx(expected) and expected < 1.0
        # another type, no title noun in common: 0
        wrong = next(p for p in CAT.values() if p.category[0] != target.category[0]
                     and not set(p.nouns) & set(goal.nouns))
        _, info = await _buy(env, task, wrong.id, {})
        assert info["webshop"]["reward"] == 0.0
        # no purchase: stop() ends the episode with outcome 0
        await env.reset(task, 0)
        result = await env.step({"shopper": "stop()"})
        assert result.terminated["shopper"] and "webshop" not in result.infos["shopper"]
    finally:
        await env.close()


async def test_chromium_and_text_browser_show_the_same_shop_pages(chromium):
    task = tasks("test")[1]
    goal = task.reference["goal"]
    chrome_env, text_env = ShopEnv(browser=chromium), ShopEnv(backend="text")
    try:
        pages = []
        for env in (chrome_env, text_env):
            seen = [(await env.reset(task, 0))["shopper"][-1]["content"]]
            for reply in [f'type(1, "{goal["query"]}")', 'press("Enter")', "click(2)", "back()", "goto(\"/s/1/\")"]:
                seen.append((await env.step({"shopper": reply})).obs["shopper"])
            pages.append(seen)
        # each env numbers its sessions from 1 and hides its port, so the pages compare as text
        assert pages[0] == pages[1]
    finally:
        await chrome_env.close()
        await text_env.close()


async def test_each_reset_gets_a_fresh_context_and_only_loopback_is_reached(chromium):
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = (b"<html><title>t</title><body><img src='http://203.0.113.7/pixel.png'>"
                    b"<a href='http://203.0.113.7/'>away</a><span onclick='1'>b</span></body></html>")
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    try:
        obs = await chromium.reset(url)
        assert any(u.startswith("http://203.0.113.7/") for u in chromium.blocked)
        await chromium.page.evaluate("() => { localStorage.setItem('k', 'v'); document.cookie = 'c=1'; }")
        obs = await chromium.act(parse_action("click(1)"))  # a link off the site: the request is aborted
        assert "203.0.113.7" not in obs.url or obs.error
        obs = await chromium.reset(url)
        assert await chromium.page.evaluate("() => [localStorage.getItem('k'), document.cookie]") == [None, ""]
        assert obs.element(2).role == "clickable"
    finally:
        server.shutdown()
        server.server_close()


async def test_envs_made_per_episode_share_one_pooled_chromium_that_closes_after_the_last(chromium):
    before = set(live_chromium_pids())  # the shared browser
    pids = []
    for i in (2, 3):
        env = registry.make("web/Shop-v0")
        ep = await run_episode(env, registry.scripted_policy("web/Shop-v0", 0), tasks("test")[i], 0,
                               registry.rubric("web/Shop-v0"), max_turns=20)
        assert ep.status.value == "ok" and ep.outcome_rewards["shopper"]["webshop"] == 1.0
        assert env.browser is None  # given back to the pool by run_episode's env.close()
        pids.append(set(live_chromium_pids()) - before)
    assert pids[0] and pids[0] & pids[1]  # the second env ran in the first one's Chromium, still up in the pool
    await asyncio.sleep(browser_pool().linger_s + 1.0)
    assert set(live_chromium_pids()) <= before

async def test_a_pooled_chromium_killed_by_sigkill_is_replaced_not_handed_out_again(chromium):
    import os
    import signal

    before = set(live_chromium_pids())
    env = registry.make("web/Shop-v0")
    ep = await run_episode(env, registry.scripted_policy("web/Shop-v0", 0), tasks("test")[2], 0,
                           registry.rubric("web/Shop-v0"), max_turns=20)
    assert ep.status.value == "ok"
    pooled = [b for _, b in browser_pool()._idle if b.pid not in before]
    assert pooled and pooled[0]._proc.poll() is None
    os.kill(pooled[0].pid, signal.SIGKILL)
    for _ in range(50):  # the kernel reaps it asynchronously; poll() sees it once it is gone
        if pooled[0]._proc.poll() is not None:
            break
        await asyncio.sleep(0.1)
    assert pooled[0]._proc.poll() is not None
    env = registry.make("web/Shop-v0")
    ep = await run_episode(env, registry.scripted_policy("web/Shop-v0", 0), tasks("test")[3], 0,
                           registry.rubric("web/Shop-v0"), max_turns=20)
    assert ep.status.value == "ok" and ep.outcome_rewards["shopper"]["webshop"] == 1.0  # a fresh Chromium ran it
    assert pooled[0].pid is None  # the dead one was reaped by the pool, not reused
    await asyncio.sleep(browser_pool().linger_s + 1.0)
    assert set(live_chromium_pids()) <= before
