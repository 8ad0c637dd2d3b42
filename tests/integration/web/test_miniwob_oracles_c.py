"""The part_c MiniWoB++ oracles (most need element state, `STATE_TASKS`), through the public API: the registered
env, its task list, its rubric and its scripted policy solve every task in `part_c.SOLVERS` with MiniWoB's own raw reward 1. To keep CI short each task
runs one seed, the tasks alternating between a train and a test seed (both splits are covered; the oracles were
checked by hand on train seeds 0-4 and test seeds 1000-1002 too). The first test also checks that every
shipped task is registered or excluded with a reason.
"""

from __future__ import annotations

import pytest
import pytest_asyncio

import agentrl
from agentrl import registry
from agentrl.environments.web import miniwob as mw
from agentrl.environments.web.miniwob_oracles import part_a, part_b, part_c
from agentrl.rollout import run_episode

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

ENV_ID = "web/MiniWoB-v0"
SEEDS = {"train": 3, "test": 1001}
CASES = [(name, "train" if i % 2 == 0 else "test") for i, name in enumerate(sorted(part_c.SOLVERS))]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(chromium):
    e = agentrl.make(ENV_ID, browser=chromium)  # one browser and one page server for every task of the file
    yield e
    await e.close()


def registered_task(name: str, split: str):
    found = [t for t in registry.tasks(ENV_ID, split) if t.env_kwargs == {"task": name, "seed": SEEDS[split]}]
    assert len(found) == 1, f"{name} seed {SEEDS[split]} is not in the registered {split} tasks"
    return found[0]


async def test_every_task_is_registered_or_excluded_with_a_reason_and_never_both():
    assert set(part_c.SOLVERS) <= set(mw.TASKS) and part_c.STATE_TASKS <= set(mw.TASKS)
    excluded = {**part_a.EXCLUDED, **part_b.EXCLUDED}
    assert not set(mw.TASKS) & set(excluded)
    assert set(mw.TASKS) | set(excluded) == set(mw.task_names())  # every shipped task is one or the other
    assert all(reason.strip() for reason in excluded.values())


@pytest.mark.parametrize(("name", "split"), CASES)
async def test_oracle_gets_raw_reward_one(env, name, split):
    task = registered_task(name, split)
    ep = await run_episode(env, registry.scripted_policy(ENV_ID, 0), task, 0, registry.rubric(ENV_ID), close=False)
    info = ep.turns[-1].info
    trace = [t.text for t in ep.turns]
    assert ep.status.value == "ok", (ep.error, trace)
    assert info["miniwob_done"], trace  # the page itself ended the episode (the env terminates on it)
    assert ep.outcome_rewards["agent"]["miniwob_raw"] == 1.0, (info["miniwob_reason"], trace)
    assert all(t.info["valid_action"] for t in ep.turns), trace
