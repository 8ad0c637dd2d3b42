"""BFCL multi-turn: the env's verdict equals BFCL's own checker on every test task's gold trajectory and on three
mutations of it (a call dropped, an argument changed, a state-changing call added), case by case.

The env side runs each trajectory through the registered env (`agentrl.make`, the scripted replay, the rubric);
the BFCL side hands the same trajectory straight to bfcl-eval's `multi_turn_checker`. The train split is swept
by ``python -m agentrl.environments.tool_use.bfcl_replay train`` (docs/tool_use.md has the numbers).
"""

import pytest

import agentrl
from agentrl import registry
from agentrl.environments.tool_use import bfcl, bfcl_replay

SPLIT_SIZE = {"test": 50, "train": 150}


@pytest.mark.parametrize("category", bfcl.CATEGORIES)
async def test_env_verdict_equals_bfcl_checker_on_gold_and_mutations(category):
    cases = await bfcl_replay.conformance(category, "test")
    print(bfcl_replay.summary(category, "test", cases))
    gold = [c for c in cases if c.kind == "gold"]
    assert len(gold) == SPLIT_SIZE["test"] == len(bfcl.tasks(category, "test"))
    disagreements = [c for c in cases if not c.agrees]
    assert not disagreements, disagreements[:5]
    assert all(c.bfcl_valid and c.results_match for c in gold)  # BFCL accepts its own ground truth, as shown
    for kind in bfcl_replay.MUTATIONS:
        mutated = [c for c in cases if c.kind == kind]
        assert len(mutated) == len(gold)  # every test task has all three mutations
        assert sum(not c.bfcl_valid for c in mutated) >= len(mutated) // 2  # near misses the checker catches


def test_splits_partition_each_category():
    for category in bfcl.CATEGORIES:
        ids = {s: {t.id for t in bfcl.tasks(category, s)} for s in ("train", "test")}
        assert {s: len(v) for s, v in ids.items()} == SPLIT_SIZE and not ids["train"] & ids["test"]
    with pytest.raises(bfcl.BfclError, match="splits are"):
        bfcl.tasks("base", "validation")
    with pytest.raises(bfcl.BfclError, match="choose one of"):
        bfcl.tasks("composite", "test")


async def test_miss_func_hides_the_function_until_its_turn_announces_it():
    task = next(t for t in registry.tasks("bfcl/MultiTurnMissFunc-v0", "test") if t.env_kwargs["hidden_tools"])
    missing = task.env_kwargs["hidden_tools"][0]
    announced_at = next(i for i, u in enumerate(task.env_kwargs["user_turns"], start=1) if missing in u.get("add_tools", ()))
    env = agentrl.make("bfcl/MultiTurnMissFunc-v0")
    obs = await env.reset(task, seed=0)
    assert f'"name": "{missing}"' not in obs["assistant"][0]["content"]
    for turn in range(announced_at):
        result = await env.step({"assistant": "Nothing to call."})
    shown = result.obs["assistant"]
    assert shown[-1] == {"role": "user", "content": "I have updated some more functions you can choose from. "
                                                    "What about now?"}
    assert any(f'"name": "{missing}"' in m["content"] for m in shown if m["role"] == "system")
    await env.close()


async def test_silent_agent_fails_where_bfcl_fails_it():
    task = registry.tasks("bfcl/MultiTurnBase-v0", "test")[0]
    silent = [[] for _ in bfcl_replay.gold_calls(task)]
    case = await bfcl_replay.run_case("bfcl/MultiTurnBase-v0", task, "silent", silent)
    assert not case.env_valid and not case.bfcl_valid and case.bfcl_error == "multi_turn:empty_turn_model_response"
