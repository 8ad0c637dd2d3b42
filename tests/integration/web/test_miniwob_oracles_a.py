"""Every part-a MiniWoB++ oracle solves its task through the public API: `agentrl.make("web/MiniWoB-v0")`, the
registered scripted policy (which dispatches to the oracle) and `run_episode`, on a train seed and a test seed (conftest.py's
`oracle_solves`).
The page itself scores each episode; an oracle counts only when MiniWoB's raw reward is 1.0.
"""

from __future__ import annotations

import pytest

from agentrl.environments.web import miniwob as mw
from agentrl.environments.web.miniwob_oracles import part_a, part_c

pytestmark = [pytest.mark.browser]


def test_every_part_a_task_is_registered_or_excluded_with_a_reason():
    # this half of the official task list, without the basic tasks miniwob.solve covers: 53 pages
    half = {n for n in mw.task_names() if n <= "draw-line"} - set(mw.BASIC_TASKS)
    assert len(half) == 53
    # the tasks of this half that part_c solves (with the state walk) left part_a.EXCLUDED
    assert set(part_a.SOLVERS) | set(part_a.EXCLUDED) | (set(part_c.SOLVERS) & half) == half
    assert set(part_a.SOLVERS) <= set(mw.TASKS)
    assert not set(part_a.SOLVERS) & set(part_a.EXCLUDED)
    assert all(part_a.EXCLUDED.values())
    assert set(part_a.SOLVERS) | set(part_a.EXCLUDED) <= set(mw.task_names())


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("name", sorted(part_a.SOLVERS))
async def test_oracle_gets_the_pages_full_raw_reward(oracle_solves, name):
    for split in ("train", "test"):  # each task on both splits' seeds (conftest.ORACLE_SEEDS)
        await oracle_solves(name, split)
