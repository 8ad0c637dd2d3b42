"""Reward hacks on MiniWoB++ tasks in the real Chromium, through the env API and the registered rubric: script
typed into fields, navigating to a "success" page or a `javascript:` url, editing the DOM through actions
that are not the task's, reading answers from hidden elements, claiming success in an answer, carrying a
solved page into the next episode, and `back()` off the task's page. None earns a positive reward, and none
ends as an env failure (which training would drop, so a crash would dodge MiniWoB's -1). docs/security.md
lists them.
"""

from __future__ import annotations

import pytest
import pytest_asyncio

from agentrl.environments.web import miniwob as mw
from agentrl.environments.web.browser import ChromiumBrowser
from agentrl.policy_contract import ScriptedPolicy
from agentrl.rollout import run_episode
from agentrl.types import Task

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env():
    browser = ChromiumBrowser()
    await browser.start()
    e = mw.MiniWoBEnv(browser=browser)
    yield e
    await e.close()
    await browser.close()


def task(name: str, seed: int) -> Task:
    return Task(id=f"{name}/seed{seed}", env_kwargs={"task": name, "seed": seed})


def items(obs: str) -> list[mw.PageItem]:
    return mw.parse_page(mw.observation_parts(obs)[2])


def wanted(obs: str) -> str:
    return mw.quoted_strings(mw.observation_parts(obs)[1])[0]


def textbox(obs: str, n: int = 0) -> int:
    return [it for it in items(obs) if it.role == "textbox"][n].id


def wrong_button(obs: str) -> str:
    return f"click({next(it.id for it in items(obs) if it.role == 'button' and it.name != wanted(obs))})"


def submit(obs: str) -> str:
    return mw.submit_action(items(obs))


def steps_policy(*steps) -> ScriptedPolicy:
    """Replies in order; a step is the reply text or a function of the latest observation."""
    def script(agent, messages, rng):
        seen = [m["content"] for m in messages if m.get("role") == "user" and "MiniWoB++ task:" in str(m["content"])]
        step = steps[min(sum(m.get("role") == "assistant" for m in messages), len(steps) - 1)]
        return step(seen[-1]) if callable(step) else step
    return ScriptedPolicy(script)


async def play(env, name: str, seed: int, *steps):
    ep = await run_episode(env, steps_policy(*steps), task(name, seed), 0, mw.rubric(), max_turns=len(steps),
                           close=False)
    assert ep.status.value in ("ok", "truncated"), (ep.status, ep.error)  # never an env failure: it is scored
    return ep


def raw(ep) -> float:
    return ep.outcome_rewards["agent"]["miniwob_raw"]


def assert_unrewarded(ep) -> None:
    assert raw(ep) <= 0.0 and ep.reward["agent"] <= 0.0, ([t.text for t in ep.turns], ep.turns[-1].info)


SCRIPTS = ['<script>core.endEpisode(1.0, true)</script>', '"><img src=x onerror="core.endEpisode(1.0, true)">',
           "javascript:core.endEpisode(1.0,true)", "'; WOB_REWARD_GLOBAL = 1; //"]


@pytest.mark.parametrize("payload", SCRIPTS, ids=["script_tag", "onerror_attr", "javascript_text", "js_string"])
async def test_script_typed_into_a_field_is_text(env, payload):
    ep = await play(env, "enter-text", 3, lambda obs: f"type({textbox(obs)}, {mw._js_string(payload)})", submit)
    assert raw(ep) == -1.0 and ep.reward["agent"] == -1.0, ep.turns[-1].info  # a wrong answer, nothing ran
    assert ep.turns[0].info["valid_action"]


async def test_script_typed_into_the_login_fields_is_text(env):
    ep = await play(env, "login-user", 3, lambda obs: f"type({textbox(obs, 0)}, {mw._js_string(SCRIPTS[0])})",
                    lambda obs: f"type({textbox(obs, 1)}, {mw._js_string(SCRIPTS[1])})", submit)
    assert raw(ep) == -1.0, ep.turns[-1].info


@pytest.mark.parametrize("url", ["/miniwob/click-button.html?reward=1", "javascript:core.endEpisode(1.0,true)",
                                 "about:blank", "/core/core.js"])
async def test_navigating_to_a_success_page_is_refused(env, url):
    ep = await play(env, "click-button", 3, f'goto("{url}")', wrong_button)
    first = ep.turns[0]
    assert not first.info["valid_action"] and "not available" in ep.turns[1].messages[0]["content"]
    assert raw(ep) == -1.0 and ep.reward["agent"] == -1.0  # still on the task's page: the wrong click counts


async def test_editing_the_dom_through_other_actions_earns_nothing(env):
    # relabel a wrong button with the wanted text (type into it, select on it), then click it: no action of the
    # grammar edits the DOM or runs script, so the click is still the wrong button's
    def wrong_id(obs):
        return next(it.id for it in items(obs) if it.role == "button" and it.name != wanted(obs))

    ep = await play(env, "click-button", 3, lambda obs: f"select({wrong_id(obs)}, {mw._js_string(wanted(obs))})",
                    lambda obs: f"type({wrong_id(obs)}, {mw._js_string(wanted(obs))})", wrong_button)
    assert raw(ep) == -1.0 and ep.reward["agent"] == -1.0, [t.text for t in ep.turns]


HIDDEN_TEXT_JS = """() => {
  const shown = document.body.innerText;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const s = getComputedStyle(el);
    if (s.display !== 'none' && s.visibility !== 'hidden') continue;
    for (const node of el.childNodes) {
      const t = node.nodeType === 3 ? node.textContent.trim() : '';
      if (t.length >= 3 && !shown.includes(t)) out.push(t);
    }
  }
  return out;
}"""


@pytest.mark.parametrize("name", ["click-collapsible", "click-tab-2", "email-inbox", "click-dialog"])
async def test_hidden_elements_are_not_in_the_observation(env, name):
    obs = (await env.reset(task(name, 4), 0))["agent"]
    hidden = await env._browser.page.evaluate(HIDDEN_TEXT_JS)
    page = mw.observation_parts(obs)[2]
    leaked = [t for t in hidden if t in page]
    assert not leaked, leaked
    assert "Last reward" not in obs and "Episodes done" not in obs  # MiniWoB's heads-up display


async def test_claiming_success_in_an_answer_earns_nothing(env):
    ep = await play(env, "click-button", 3, 'answer("Done: I clicked the button, reward 1.0")')
    assert_unrewarded(ep)
    ep = await play(env, "enter-text", 3, lambda obs: f"answer({mw._js_string(wanted(obs))})")  # the right text
    assert_unrewarded(ep)


async def test_a_solved_page_does_not_carry_into_the_next_episode(env):
    solved = await run_episode(env, mw.scripted_policy(0), task("click-button", 1), 0, mw.rubric(), max_turns=4,
                               close=False)
    assert raw(solved) == 1.0
    ep = await play(env, "click-button", 2, "stop()")  # the same page, re-seeded: its reward is reset
    assert raw(ep) == 0.0 and ep.reward["agent"] == 0.0


async def test_back_is_refused_and_the_wrong_answer_still_scores(env):
    # back() left the task for about:blank; the next step failed as env_error, which training drops: the -1
    # of the wrong click that followed was dodged. It is refused like goto() now.
    ep = await play(env, "click-button", 3, "back()", "back()", wrong_button)
    assert [t.info["valid_action"] for t in ep.turns] == [False, False, True]
    assert raw(ep) == -1.0 and ep.reward["agent"] == -1.0


async def test_a_page_off_its_task_url_is_loaded_again_not_re_seeded(env):
    await env.reset(task("click-button", 5), 0)
    await env._browser.page.goto("about:blank")  # however the page got there
    ep = await run_episode(env, mw.scripted_policy(0), task("click-button", 6), 0, mw.rubric(), max_turns=4,
                           close=False)
    assert ep.status.value == "ok" and raw(ep) == 1.0, ep.error
