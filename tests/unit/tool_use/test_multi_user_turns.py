"""Several user turns per episode, changing tool sets, step limits and per-user-turn rewards."""

import json

import pytest

import agentrl
from agentrl import registry
from agentrl.environments.tool_use import PolicyUser, ToolEnv, format_tool_call
from agentrl.errors import ConfigError, RewardError
from agentrl.evaluation.rescore import rescore_episode
from agentrl.policy_contract import ScriptedPolicy
from agentrl.types import Episode, Status, Task
from agentrl.verifiers import Rubric
from agentrl.verifiers.tools import per_user_turn, user_turn_state_match


class Notes:
    def __init__(self):
        self.notes: list[str] = []


def add_note(domain: Notes, text: str) -> str:
    """Add a note.

    Args:
        text: the note.
    """
    domain.notes.append(text)
    return "added"


def clear(domain: Notes) -> str:
    """Delete every note."""
    domain.notes.clear()
    return "cleared"


def secret(domain: Notes) -> int:
    """Callable, never listed."""
    return len(domain.notes)


def env(**kw) -> ToolEnv:
    return ToolEnv([add_note, clear, secret], Notes, initial_tools=["add_note"], hidden_tools=["secret"], **kw)


TASK = Task(id="notes", prompt=["note a"], env_kwargs={"user_turns": [
    {"content": "now clear them", "add_tools": ["clear"]}, {"content": "note b", "remove_tools": ["clear"]}]},
    reference={"user_turn_states": [{"notes": ["a"]}, {"notes": []}, {"notes": ["b"]}]})


def solver(seed=0):
    def script(agent, messages, rng):
        last = messages[-1]
        if last["role"] == "tool":
            return "done"
        return {"note a": format_tool_call("add_note", {"text": "a"}), "now clear them": format_tool_call("clear"),
                "note b": format_tool_call("add_note", {"text": "b"})}[last["content"]]
    return ScriptedPolicy(script, seed=seed)


async def test_scripted_user_turns_change_the_tool_set_and_are_scored_per_turn():
    rubric = Rubric(turn={"after_turn": user_turn_state_match})
    ep = await agentrl.run_episode(env(), solver(), TASK, 0, rubric)
    assert ep.status is Status.OK and len(ep.turns) == 6
    assert [t.rewards["after_turn"] for t in ep.turns] == [None, 1.0, None, 1.0, None, 1.0]
    shown = [m for t in ep.turns for m in t.messages]
    system = shown[0]["content"]
    assert '"add_note"' in system and '"clear"' not in system and '"secret"' not in system
    announced = [m["content"] for m in shown if m["role"] == "system"][1:]
    assert '"name": "clear"' in announced[0] and "no longer available: clear" in announced[1]
    assert ep.turns[-1].info["stop_reason"] == "no_more_user_turns"
    # the snapshots are JSON on the turns: a saved episode re-scores without the env
    saved = Episode.from_json(ep.to_json())
    again = await rescore_episode(saved, Rubric(turn={"after_turn": user_turn_state_match}))
    assert [t.rewards["after_turn"] for t in again.turns] == [None, 1.0, None, 1.0, None, 1.0]


async def test_hidden_tools_are_callable_and_removed_or_unknown_ones_are_errors():
    e = env()
    await e.reset(TASK, 0)
    r = await e.step({"assistant": format_tool_call("secret") + format_tool_call("clear")})
    info = r.infos["assistant"]
    assert [c["ok"] for c in info["tool_calls"]] == [True, False]
    assert "no tool named 'clear' available now" in info["tool_errors"][0] and "['add_note']" in info["tool_errors"][0]


async def test_per_user_turn_step_limit_truncates_with_a_reason():
    task = Task(id="t", prompt=["go"], env_kwargs={"user_turns": [{"content": "more", "max_steps": 1}]})
    loop = ScriptedPolicy(lambda a, m, rng: "ok" if m[-1]["content"] == "go" else format_tool_call("secret"))
    e = env(max_steps_per_user_turn=5)
    await e.reset(task, 0)
    await e.step({"assistant": "ok"})
    cut = await e.step({"assistant": format_tool_call("secret")})
    assert cut.truncated["assistant"] and not cut.terminated["assistant"] and cut.obs == {}
    ep = await agentrl.run_episode(env(max_steps_per_user_turn=5), loop, task, 0)
    assert len(ep.turns) == 2  # env truncation keeps rollout's status convention (ok); the reason is on the turn
    assert ep.turns[-1].info["stop_reason"] == "user_turn_step_limit" and ep.turns[-1].info["user_turn"] == 1


async def test_simulated_user_function_and_policy_user():
    async def user(task, messages):
        answers = sum(1 for m in messages if m["role"] == "user")
        return None if answers >= 3 else f"question {answers}"

    plain = ScriptedPolicy(replies=["answer"])
    ep = await agentrl.run_episode(ToolEnv([secret], Notes), plain, Task(id="t", prompt=["q"]), 0)
    assert ep.status is Status.OK and len(ep.turns) == 1
    ep = await agentrl.run_episode(ToolEnv([secret], Notes, user=user), plain, Task(id="t", prompt=["q"]), 0)
    assert [m["content"] for t in ep.turns for m in t.messages if m["role"] == "user"] == \
        ["q", "question 1", "question 2"]
    llm_user = ScriptedPolicy(replies=["tell me more", "###STOP###"])
    ep = await agentrl.run_episode(ToolEnv([secret], Notes, user=PolicyUser(llm_user, "You are a customer.")),
                                   plain, Task(id="t", prompt=["q"]), 0)
    assert len(ep.turns) == 2 and ep.turns[1].messages[0] == {"role": "user", "content": "tell me more"}


async def test_bad_user_scripts_and_unsnapshotted_states_are_clear_errors():
    with pytest.raises(ConfigError, match="non-empty list of user turns"):
        await env().reset(Task(id="t", env_kwargs={"user_turns": []}), 0)
    with pytest.raises(ConfigError, match="not tools of this env"):
        await env().reset(Task(id="t", env_kwargs={"user_turns": [{"content": "x", "add_tools": ["nope"]}]}), 0)
    with pytest.raises(ConfigError, match="not tools of this env"):
        ToolEnv([secret], hidden_tools=["missing"])
    score = per_user_turn(lambda state, reference, i: 1.0)
    with pytest.raises(RewardError, match="snapshot_states=True"):
        score({"user_turn_end": True, "user_turn": 0}, {})
    ep = await agentrl.run_episode(env(snapshot_states=False), solver(), TASK, 0,
                                   Rubric(turn={"after_turn": user_turn_state_match}))
    assert ep.status is Status.VERIFIER_ERROR and "snapshot_states=True" in ep.error
    assert json.loads(ep.to_json())["status"] == "verifier_error"


async def test_run_episode_uses_the_registered_max_turns():
    agentrl.register("tests/NeverEnds-v0", lambda: ToolEnv([secret], Notes, max_turns=100), max_turns=3,
                     override=True)
    loop = ScriptedPolicy(replies=[format_tool_call("secret")])
    ep = await agentrl.run_episode(agentrl.make("tests/NeverEnds-v0"), loop, Task(id="t", prompt=["go"]), 0)
    assert ep.status is Status.TRUNCATED and len(ep.turns) == 3
    ep = await agentrl.run_episode(registry.make("tests/NeverEnds-v0"), loop, Task(id="t", prompt=["go"]), 0,
                                   max_turns=2)
    assert len(ep.turns) == 2 and ep.metrics["tool_errors"] == 0.0
