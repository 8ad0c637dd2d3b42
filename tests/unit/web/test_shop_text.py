"""The shop through the text browser (the site on loopback, no Chromium): scripted purchases score WebShop's
reward, bad actions come back as observations, and the env keeps the contract."""

import pytest

from agentrl import registry
from agentrl.checker import check_env
from agentrl.environments.web.browser import BadAction, BrowserError, TextBrowser, parse_action
from agentrl.environments.web.shop import ShopEnv, tasks
from agentrl.rollout import run_episode

ENV = "web/ShopText-v0"


async def test_scripted_shopper_solves_test_tasks_with_reward_one():
    for task in tasks("test")[:5]:
        ep = await run_episode(registry.make(ENV), registry.scripted_policy(ENV, 0), task, 0, registry.rubric(ENV),
                               max_turns=20)
        assert ep.status.value == "ok", ep.error
        assert ep.outcome_rewards["shopper"]["webshop"] == 1.0
        assert all(t.rewards["valid_action"] == 1.0 for t in ep.turns)
        assert "bought" in ep.turns[-1].info["milestones"]


async def test_bad_actions_are_observations_not_crashes():
    env = ShopEnv(backend="text")
    try:
        await env.reset(tasks("test")[0], 0)
        for reply, why in [("hello", "no action found"), ("click(99)", "not on this page"),
                           ('select(1, "x")', "not a select box"), ('goto("http://example.com/")', "leaves the site")]:
            result = await env.step({"shopper": reply})
            text = result.obs["shopper"]
            assert "Action error:" in text and why in text, (reply, text)
            assert result.infos["shopper"]["valid"] is False
            assert not result.terminated["shopper"]
        result = await env.step({"shopper": "stop()"})
        assert result.terminated["shopper"] and "webshop" not in result.infos["shopper"]
    finally:
        await env.close()


async def test_text_browser_refuses_non_loopback():
    browser = TextBrowser()
    with pytest.raises(BrowserError, match="not on loopback"):
        await browser.reset("http://example.com/")
    assert isinstance(parse_action("click(x)"), BadAction)


async def test_shop_text_env_passes_check_env():
    report = await check_env(ENV)
    assert all(ep.reward["shopper"] >= 1.0 for ep in report.episodes)
