"""The tau2 envs keep the env contract (check_env with the probe policy) and score tau2's way."""

import asyncio

import pytest

from agentrl import registry
from agentrl.checker import check_env
from agentrl.environments.tool_use import tau2 as t2
from agentrl.policy_contract import ScriptedPolicy
from agentrl.rollout import run_episode


@pytest.mark.parametrize("env_id", ["tau2/Airline-v0", "tau2/Retail-v0", "tau2/Telecom-v0"])
def test_check_env(env_id):
    report = asyncio.run(check_env(env_id, seeds=(0,), num_tasks=1))
    assert "same seed gives the same episode" in report.passed
    episode = report.episodes[0]
    assert [t.agent for t in episode.turns][:2] == ["user", "assistant"]
    calls = [c for t in episode.turns for c in t.info.get("tool_calls", [])]
    if env_id != "tau2/Telecom-v0":  # telecom's agent tools all take arguments, so the probe only talks there
        assert calls and calls[0]["ok"]  # the probe's argument-free tool ran on tau2's domain
    assert episode.outcome_rewards["user"]["tau2"] is None
    assert episode.outcome_rewards["assistant"]["tau2"] in (0.0, 1.0)


def test_pass_hat_k_of_gold_and_broken_replays():
    env_id = "tau2/Retail-v0"
    task = registry.tasks(env_id, "test")[0]
    gold = t2.tau2_tasks("retail", "test")[task.id]
    drop = tuple(t2.write_tool_indices("retail", gold)[-1:])

    def play(drop_actions):
        return asyncio.run(run_episode(registry.make(env_id), t2.GoldReplay(gold, drop_actions).policies(), task, 0,
                                       registry.rubric(env_id), max_turns=200))

    episodes = [play(()), play(()), play(drop)]
    assert [e.outcome_rewards["assistant"]["tau2"] for e in episodes] == [1.0, 1.0, 0.0]
    assert t2.pass_hat_k_of_episodes(episodes, 1) == pytest.approx(2 / 3)
    assert t2.pass_hat_k_of_episodes(episodes, 2) == pytest.approx(1 / 3)


def test_malformed_replies_are_answered_not_raised():
    replies = {"user": ["", "<tool_call>{oops", "hello", "###STOP###"],
               "assistant": ["", '<tool_call>{"name": "no_such_tool", "arguments": {}}</tool_call>',
                             '<tool_call>{"name": "get_order_details", "arguments": {"wrong": 1}}</tool_call>',
                             "<tool_call>[]</tool_call>", "Sorry, goodbye."]}
    policies = {a: ScriptedPolicy(replies=r) for a, r in replies.items()}
    task = registry.tasks("tau2/Retail-v0", "test")[0]
    episode = asyncio.run(run_episode(registry.make("tau2/Retail-v0"), policies, task, 0,
                                      registry.rubric("tau2/Retail-v0"), max_turns=50))
    assert episode.status.value == "ok", episode.error
    errors = [e for t in episode.turns for e in t.info.get("tool_errors", [])]
    assert any("no_such_tool" in e for e in errors) and any("wrong" in e for e in errors)
    assert any("never closed" in e for e in errors) and any("empty list" in e for e in errors)
    assert episode.outcome_rewards["assistant"]["tau2"] == 0.0


@pytest.mark.parametrize("drop_last_write", [False, True])
def test_cached_evaluate_gives_tau2s_whole_reward_info(drop_last_write):
    """Not just the reward: every check, basis and breakdown of `evaluate` is what tau2's entry point reports
    on the same record, for a passing and a failing conversation, and for one cut off by the step limit."""
    env_id = "tau2/Airline-v0"
    tau2_tasks = t2.tau2_tasks("airline", "test")
    task = next(t for t in registry.tasks(env_id, "test") if t2.write_tool_indices("airline", tau2_tasks[t.id]))
    gold = tau2_tasks[task.id]
    drop = tuple(t2.write_tool_indices("airline", gold)[-1:]) if drop_last_write else ()
    episode = asyncio.run(run_episode(registry.make(env_id), t2.GoldReplay(gold, drop).policies(), task, 0,
                                      registry.rubric(env_id), max_turns=200))
    record = t2.tau2_record(episode)
    for termination in (record["termination"], "max_steps"):
        args = (record["domain"], record["task_id"], record["messages"], termination)
        ours, theirs = t2.evaluate(*args), t2.evaluate_with_tau2(*args)
        assert ours.model_dump(mode="json") == theirs.model_dump(mode="json")
    assert episode.outcome_rewards["assistant"]["tau2"] == (0.0 if drop_last_write else 1.0)
