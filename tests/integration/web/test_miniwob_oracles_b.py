"""The part_b MiniWoB++ oracles, through the public API: the registered env, its task list, its rubric and its
scripted policy solve every task in `part_b.SOLVERS` with MiniWoB's own raw reward 1. To keep CI short each task
runs one seed, the tasks alternating between a train and a test seed (both splits are covered; the oracles were
checked by hand on train seeds 0-4 and test seed 1000 too).
"""

from __future__ import annotations

import pytest

from agentrl.environments.web import miniwob as mw
from agentrl.environments.web.miniwob_oracles import part_b

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

CASES = [(name, "train" if i % 2 == 0 else "test") for i, name in enumerate(sorted(part_b.SOLVERS))]


async def test_every_part_b_task_is_registered_and_none_is_both_solved_and_excluded():
    assert set(part_b.SOLVERS) <= set(mw.TASKS)
    assert not set(part_b.SOLVERS) & set(part_b.EXCLUDED)
    shipped = set(mw.task_names())
    assert set(part_b.SOLVERS) | set(part_b.EXCLUDED) <= shipped
    assert all(reason.strip() for reason in part_b.EXCLUDED.values())


@pytest.mark.parametrize(("name", "split"), CASES)
async def test_oracle_gets_raw_reward_one(oracle_solves, name, split):
    await oracle_solves(name, split)  # conftest.py: registered task, scripted policy, the page's raw reward 1
