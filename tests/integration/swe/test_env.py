"""SWEEnv episodes in real containers: scripted gold/empty policies, every action kind, rubric terms, pool."""

import json

import pytest

from agentrl.environments.swe.env import SWEEnv, empty_policy, gold_patch_policy, rubric
from agentrl.policy_contract import ScriptedPolicy
from agentrl.rollout import run_episode
from agentrl.sandbox import SandboxPool
from agentrl.types import Status

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]


def call(name, **arguments):
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


async def test_gold_and_empty_policies(toy):
    instance, _ = toy
    task = instance.to_task()
    gold = await run_episode(SWEEnv(), gold_patch_policy(instances={instance.instance_id: instance}), task, 0,
                             rubric(), max_turns=5)
    assert gold.status == Status.OK and len(gold.turns) == 2
    assert gold.outcome_rewards["agent"] == {"resolved": 1.0, "partial_credit": 1.0, "fail_to_pass": 1.0}
    assert gold.turns[0].rewards["command_ok"] == 1.0 and gold.turns[1].rewards["patch_applies"] == 1.0
    assert gold.reward["agent"] == pytest.approx(1.0 + 0.5 + 0.02 + 0.1)  # gated turn terms count: resolved
    empty = await run_episode(SWEEnv(), empty_policy(), task, 0, rubric(), max_turns=5)
    assert empty.outcome_rewards["agent"] == {"resolved": 0.0, "partial_credit": 0.0, "fail_to_pass": 0.0}
    assert empty.reward["agent"] == 0.0
    assert "test_patch" not in json.dumps([m for t in gold.turns for m in t.messages])


async def test_every_action_kind_with_a_pool(toy):
    instance, _ = toy
    fix_add = call("edit", path="calc.py", old="return a - b", new="return a + b")
    replies = [
        call("bash", command="ls; git log --oneline | wc -l") + call("bash", command="cat nope.txt"),
        call("bash", command="seq 1 20000"),
        fix_add + call("edit", path="calc.py", old="return a", new="return -a"),  # ambiguous
        "I think I am done.",
        call("edit", path="tests/test_calc.py", old="6", new="7") + call("edit", path="notes.txt", old="", new="hi\n"),
        "```bash\npython3 -c 'import calc; print(calc.add(2, 3))'\n```",
        call("submit"),
    ]
    async with SandboxPool.docker(image=instance.image, size=1) as pool:
        env = SWEEnv(pool=pool, max_output=2000)
        episode = await run_episode(env, ScriptedPolicy(replies=replies), instance.to_task(), 0, rubric(), max_turns=10)
    assert episode.status == Status.OK, episode.error
    turns = episode.turns
    shown = [t.messages[0]["content"] for t in turns[1:]]
    assert "calc.py" in shown[0] and "1\n[exit code 0]" in shown[0] and "[exit code 1]" in shown[0]
    assert turns[0].info["command_ok"] is False and turns[0].rewards["command_ok"] == 0.0
    assert "[output cut:" in shown[1] and len(shown[1]) < 2200 and shown[1].rstrip().endswith("[exit code 0]")
    assert turns[2].info["edit_applied"] is False and "occurs 3 times" in shown[2] and "edited calc.py" in shown[2]
    assert "No action found" in shown[3] and turns[3].info["actions"] == ["invalid"]
    assert turns[4].info["edit_applied"] is True
    assert shown[5].startswith("5\n")
    grade = turns[-1].info["grade"]
    assert grade["resolution"] == "RESOLVED_PARTIAL" and grade["test_vector"] == [1, 0, 1]
    assert sorted(grade["dropped_paths"]) == ["tests/test_calc.py"]
    assert episode.outcome_rewards["agent"]["resolved"] == 0.0
    assert episode.outcome_rewards["agent"]["partial_credit"] == 0.5  # one of the two failing tests fixed
    assert episode.reward["agent"] == pytest.approx(0.5 * 0.5)  # turn terms gated off: not resolved


async def test_auto_submit_after_max_steps(toy):
    instance, _ = toy
    env = SWEEnv(max_steps=2)
    episode = await run_episode(env, ScriptedPolicy(replies=[call("bash", command="true")]), instance.to_task(), 0,
                                rubric(), max_turns=5)
    assert len(episode.turns) == 2 and episode.turns[-1].info["auto_submitted"] is True
    assert episode.outcome_rewards["agent"]["resolved"] == 0.0 and env.sandbox is None
