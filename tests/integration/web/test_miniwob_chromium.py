"""MiniWoB++ through the real Chromium: scripted solutions score what the pages themselves report, wrong actions
score MiniWoB's own negative or zero reward, and the official `miniwob` gymnasium env (Selenium + chromedriver)
gives the same raw rewards for the same actions on the same seeds.
"""

from __future__ import annotations

import os

import pytest
import pytest_asyncio

from agentrl.environments.web import miniwob as mw
from agentrl.environments.web.browser import parse_action
from agentrl.rollout import run_episode
from agentrl.types import Task

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

MS = mw.MiniWoBConfig().ms_per_action  # the env's default page time per reply


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(chromium):
    e = mw.MiniWoBEnv(browser=chromium)
    yield e
    await e.close()


def task(name: str, seed: int) -> Task:
    return Task(id=f"{name}/seed{seed}", env_kwargs={"task": name, "seed": seed})


def last_info(episode):
    return episode.turns[-1].info


@pytest.mark.parametrize("name", mw.TASKS)
async def test_scripted_solution_scores_the_pages_own_reward(env, name):
    ep = await run_episode(env, mw.scripted_policy(0), task(name, 7), 0, mw.rubric(), max_turns=16, close=False)
    info, n = last_info(ep), len(ep.turns)
    assert ep.status.value == "ok" and info["miniwob_done"], [t.text for t in ep.turns]
    assert all(t.info["valid_action"] for t in ep.turns)
    assert ep.outcome_rewards["agent"]["miniwob_raw"] == 1.0
    # MiniWoB's discount, applied by the page to the page time the replies used (n replies of MS each, and
    # DRAG_MS more for each drag's moves)
    drags = sum(parse_action(t.text).kind in ("drag", "drag_xy") for t in ep.turns)
    page_ms = n * MS + drags * mw.DRAG_MS
    assert info["elapsed_ms"] == page_ms
    expected = 1.0 * max(0.0, 1.0 - page_ms / info["miniwob_max_time_ms"])
    assert ep.outcome_rewards["agent"]["miniwob"] == pytest.approx(expected, abs=1e-12)
    assert ep.turns[-1].rewards["env"] == ep.outcome_rewards["agent"]["miniwob"]
    assert ep.reward["agent"] == ep.outcome_rewards["agent"]["miniwob"]


async def play(env, name: str, seed: int, replies) -> tuple[str, list]:
    """Reset, then send replies; each reply is a string or a function of the latest observation."""
    obs = (await env.reset(task(name, seed), 0))["agent"]
    instruction = obs.split("Instruction: ", 1)[1].split("\n", 1)[0]
    results = []
    for reply in replies:
        result = await env.step({"agent": reply(obs) if callable(reply) else reply})
        results.append(result)
        if result.terminated["agent"]:
            break
        obs = result.obs["agent"]
    return instruction, results


def click_other_button(obs: str) -> str:
    _, instruction, page = mw.observation_parts(obs)
    wanted = mw.quoted_strings(instruction)[0]
    other = next(it for it in mw.parse_page(page) if it.role == "button" and it.name != wanted)
    return f"click({other.id})"


def field(n: int, text: str):
    return lambda obs: f'type({[it for it in mw.parse_page(mw.observation_parts(obs)[2]) if it.role == "textbox"][n].id}, "{text}")'


def submit(obs: str) -> str:
    return mw.submit_action(mw.parse_page(mw.observation_parts(obs)[2]))


async def test_wrong_actions_score_minwobs_own_negative_or_zero(env):
    _, r = await play(env, "click-button", 3, [click_other_button])
    assert (r[-1].infos["agent"]["miniwob_raw_reward"], r[-1].rewards["agent"]) == (-1.0, -1.0)  # never discounted
    _, r = await play(env, "enter-text", 3, [field(0, "nobody"), submit])
    assert (r[-1].infos["agent"]["miniwob_raw_reward"], r[-1].rewards["agent"]) == (-1.0, -1.0)
    _, r = await play(env, "login-user", 3, [field(0, "x"), field(1, "y"), submit])
    assert r[-1].rewards["agent"] == -1.0
    _, r = await play(env, "focus-text", 3, ["stop()"])  # giving up: MiniWoB's reward of an unfinished episode
    assert r[-1].terminated["agent"] and not r[-1].infos["agent"]["miniwob_done"]
    assert r[-1].rewards["agent"] == 0.0 and r[-1].infos["agent"]["miniwob_raw_reward"] == 0.0


async def test_bad_replies_are_reported_and_the_page_times_out_on_its_own(env):
    limit = 10_000 // MS  # replies that fit click-button's 10 s of page time
    _, r = await play(env, "click-button", 3, ["I would click something", "click(99)"] + ["nonsense"] * (limit + 5))
    first, second = r[0], r[1]
    assert not first.infos["agent"]["valid_action"] and "no action found" in first.obs["agent"]
    assert not second.infos["agent"]["valid_action"] and "[99]" in second.obs["agent"]
    # 10 s of page time at MS per reply: MiniWoB's own timer ends the episode with -1, reason "timed out"
    assert len(r) == limit and r[-1].terminated["agent"]
    assert r[-1].infos["agent"]["miniwob_reason"] == "timed out" and r[-1].rewards["agent"] == -1.0


# -- the official env ------------------------------------------------------------------------------------------

CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def official(monkeypatch_module):
    """Makes official `miniwob` gymnasium envs (Selenium + Debian's chromedriver, headless, file:// pages)."""
    assert os.path.exists(CHROMEDRIVER), "chromedriver is missing: run launch/setup_web.sh (apt chromium-driver)"
    monkeypatch_module.setenv("MINIWOB_CHROME_BINARY", "/usr/bin/chromium")
    monkeypatch_module.setenv("MINIWOB_CHROMEDRIVER", CHROMEDRIVER)
    import gymnasium
    import miniwob

    gymnasium.register_envs(miniwob)
    made = []

    def make(name: str):
        e = gymnasium.make(f"miniwob/{name}-v1", render_mode=None)
        e.unwrapped.set_record_screenshots(False)  # observations need only the DOM and the utterance
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def official_play(env, seed: int, steps) -> tuple[str, float, float]:
    """Run steps like ("click", text) or ("type", n, text) in the official env; (utterance, raw, reward)."""
    from miniwob.action import ActionTypes

    obs, _ = env.reset(seed=seed)
    utterance, info, reward = obs["utterance"], {"raw_reward": 0.0}, 0.0
    for step in steps:
        elements = obs["dom_elements"]
        if step[0] == "click":
            ref = next(e["ref"] for e in elements if e["text"] == step[1] and e["tag"] in ("button", "span"))
            action = env.unwrapped.create_action(ActionTypes.CLICK_ELEMENT, ref=ref)
        else:
            fields = [e for e in elements if e["tag"] in ("input_text", "input_password")]
            action = env.unwrapped.create_action(ActionTypes.FOCUS_ELEMENT_AND_TYPE_TEXT, ref=fields[step[1]]["ref"],
                                                 text=step[2])
        obs, reward, terminated, _, info = env.step(action)
        if terminated:
            break
    return utterance, float(info["raw_reward"]), float(reward)


def resolve(obs: str, step) -> str:
    """One step as a reply to our env, resolved against the page it shows."""
    items = mw.parse_page(mw.observation_parts(obs)[2])
    if step[0] == "click":
        return f"click({next(it.id for it in items if it.name == step[1])})"
    return f'type({[it for it in items if it.role == "textbox"][step[1]].id}, "{step[2]}")'


def other_button(obs: str, named: str) -> str:
    return next(it.name for it in mw.parse_page(mw.observation_parts(obs)[2]) if it.role == "button" and it.name != named)


# (task, seed, steps from (quoted strings of the instruction, first observation))
CASES = [
    ("click-button", 5, lambda q, obs: [("click", q[0])]),
    ("click-button", 5, lambda q, obs: [("click", other_button(obs, q[0]))]),
    ("login-user", 5, lambda q, obs: [("type", 0, q[0]), ("type", 1, q[1]), ("click", "Login")]),
    ("login-user", 5, lambda q, obs: [("type", 0, q[0]), ("type", 1, q[1] + "x"), ("click", "Login")]),
]


async def test_official_gym_env_gives_the_same_raw_rewards(env, official):
    gym_envs = {}
    for name, seed, plan in CASES:
        obs = (await env.reset(task(name, seed), 0))["agent"]
        instruction = mw.observation_parts(obs)[1]
        steps = plan(mw.quoted_strings(instruction), obs)
        for step in steps:
            result = await env.step({"agent": resolve(obs, step)})
            if result.terminated["agent"]:
                break
            obs = result.obs["agent"]
        assert result.terminated["agent"], (name, seed, steps)
        gym_env = gym_envs.get(name) or gym_envs.setdefault(name, official(name))
        utterance, raw, reward = official_play(gym_env, seed, steps)
        assert utterance == instruction, (name, seed)
        assert result.infos["agent"]["miniwob_raw_reward"] == raw, (name, seed, steps)
        # the official reward is discounted by wall-clock time, ours by page time: both by the page's own code
        assert (0.0 < reward <= raw) if raw > 0 else reward == raw
