"""ToolEnv dynamics, the tool verifiers, the registered calculator env and the docs example run verbatim."""

import re
from pathlib import Path

import pytest

import agentrl
from agentrl import registry
from agentrl.checker import check_env
from agentrl.environments.tool_use import ToolEnv, calculator, format_tool_call
from agentrl.policy_contract import ScriptedPolicy
from agentrl.types import Task
from agentrl.verifiers import Checklist, Item, Rubric
from agentrl.verifiers.tools import LLMJudge, called, expected_calls, final_state_match, no_tool_errors

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module", autouse=True)
def calculator_registered():
    agentrl.register("tools/Calculator-v0", "agentrl.environments.tool_use.calculator:make_env",
                     tasks="agentrl.environments.tool_use.calculator:tasks",
                     rubric="agentrl.environments.tool_use.calculator:rubric",
                     scripted_policy="agentrl.environments.tool_use.calculator:solver_policy", max_turns=8,
                     override=True)


async def test_parallel_calls_errors_and_final_answer():
    env = calculator.make_env()
    task = calculator.tasks()[0]
    obs = await env.reset(task, 0)
    assert '"name": "store"' in obs["assistant"][0]["content"] and obs["assistant"][1]["role"] == "user"
    reply = (format_tool_call("add", {"a": 1, "b": 2}) + format_tool_call("store", {"value": 9})
             + format_tool_call("nope", {}) + format_tool_call("add", {"a": "x"}) + "<tool_call>{bad</tool_call>")
    result = await env.step({"assistant": reply})
    tool_msgs = result.obs["assistant"]
    assert [m["role"] for m in tool_msgs] == ["tool"] * 5
    contents = [m["content"] for m in tool_msgs]
    assert "not valid JSON" in contents[0]
    assert contents[1:3] == ["3.0", "stored 9.0"] or contents[1:3] == ["3", "stored 9"]
    assert "no tool named 'nope'" in contents[3] and "missing required argument(s) ['b']" in contents[4]
    info = result.infos["assistant"]
    assert info["parse_errors"] == 1 and len(info["tool_errors"]) == 3
    assert env.state() == {"register": 9}
    final = await env.step({"assistant": "It is 9."})
    assert final.terminated["assistant"] and final.obs == {} and final.infos["assistant"]["final_answer"] == "It is 9."


async def test_max_turns_truncates():
    env = ToolEnv([calculator.recall], calculator.Memory, max_turns=2)
    await env.reset(Task(id="t"), 0)
    assert not (await env.step({"assistant": format_tool_call("recall")})).truncated["assistant"]
    assert (await env.step({"assistant": format_tool_call("recall")})).truncated["assistant"]


async def test_calculator_solved_and_verifiers():
    task = calculator.tasks("test")[3]
    ep = await agentrl.run_episode(registry.make("tools/Calculator-v0"), calculator.solver_policy(), task, 0,
                                   registry.rubric("tools/Calculator-v0"), max_turns=8)
    assert ep.status.value == "ok" and ep.reward["assistant"] == 2.0
    assert ep.outcome_rewards["assistant"] == {"state": 1.0, "answer": 1.0, "calls": 1.0}
    assert [t.rewards["format"] for t in ep.turns] == [1.0, 1.0, 1.0, None]
    # a wrong store: state and expected calls fail, the checklist finds the calls that were made
    wrong = ScriptedPolicy(replies=[format_tool_call("store", {"value": 1}), "1"])
    checklist = Checklist([Item("stored", called("store")), Item("added", called("add"))])
    rubric = Rubric(outcome={"state": final_state_match, "calls": expected_calls, "clean": no_tool_errors,
                             "checklist": checklist.outcome_reward})
    ep = await agentrl.run_episode(registry.make("tools/Calculator-v0"), wrong, task, 0, rubric, max_turns=8)
    assert ep.outcome_rewards["assistant"] == {"state": 0.0, "calls": 0.0, "clean": 1.0, "checklist": 0.5}


async def test_llm_judge_is_cached_and_versioned():
    asked = []

    def judge_script(agent, messages, rng):
        asked.append(messages[-1]["content"])
        return "The assistant stored the value.\nVERDICT: YES" if "stored" in messages[-1]["content"] else "hmm"

    judge = LLMJudge(ScriptedPolicy(judge_script), criterion="The assistant stored the value.")
    rubric = Rubric(outcome={"judge": judge})
    task = calculator.tasks()[0]
    for _ in range(2):
        ep = await agentrl.run_episode(registry.make("tools/Calculator-v0"), calculator.solver_policy(), task, 0,
                                       rubric, max_turns=8)
        assert ep.outcome_rewards["assistant"]["judge"] == 1.0
    assert len(asked) == 1 and "Criterion:\nThe assistant stored the value." in asked[0]
    assert ep.info["reward_evidence"]["assistant/outcome/judge"]["judge_version"] == "v1"
    unsure = LLMJudge(ScriptedPolicy(replies=["no verdict here"]), criterion="c", version="v2")
    ep = await agentrl.run_episode(registry.make("tools/Calculator-v0"), calculator.solver_policy(), task, 0,
                                   Rubric(outcome={"judge": unsure}), max_turns=8)
    assert ep.outcome_rewards["assistant"]["judge"] is None


async def test_check_env_calculator():
    report = await check_env("tools/Calculator-v0")
    assert len(report.passed) == 8 and all(e.reward["assistant"] == 2.0 for e in report.episodes)


def test_readme_tool_env_example_runs_verbatim():
    section = (ROOT / "README.md").read_text().split("## Add a tool environment", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "the README section must hold exactly one python block: the example"
    assert len(blocks[0].splitlines()) < 80
    exec(compile(blocks[0], "README.md", "exec"), {"__name__": "readme_example"})  # noqa: S102
    assert "tools/Library-v0" in registry.registered()
