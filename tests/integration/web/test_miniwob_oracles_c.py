"""The part_c MiniWoB++ oracles (most need element state, `STATE_TASKS`), through the public API: the registered
env, its task list, its rubric and its scripted policy solve every task in `part_c.SOLVERS` with MiniWoB's own raw reward 1. To keep CI short each task
runs one seed, the tasks alternating between a train and a test seed (both splits are covered; the oracles were
checked by hand on train seeds 0-4 and test seeds 1000-1002 too). The first test also checks that every
shipped task is registered or excluded with a reason.
"""

from __future__ import annotations

import pytest

from agentrl.environments.web import miniwob as mw
from agentrl.environments.web.miniwob_oracles import part_a, part_b, part_c

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

CASES = [(name, "train" if i % 2 == 0 else "test") for i, name in enumerate(sorted(part_c.SOLVERS))]


async def test_every_task_is_registered_or_excluded_with_a_reason_and_never_both():
    assert set(part_c.SOLVERS) <= set(mw.TASKS) and part_c.STATE_TASKS <= set(mw.TASKS)
    excluded = {**part_a.EXCLUDED, **part_b.EXCLUDED}
    assert not set(mw.TASKS) & set(excluded)
    assert set(mw.TASKS) | set(excluded) == set(mw.task_names())  # every shipped task is one or the other
    assert all(reason.strip() for reason in excluded.values())


@pytest.mark.parametrize(("name", "split"), CASES)
async def test_oracle_gets_raw_reward_one(oracle_solves, name, split):
    await oracle_solves(name, split)  # conftest.py: registered task, scripted policy, the page's raw reward 1
