import pytest

from agentrl.env import ContractGuard, StepResult
from agentrl.errors import ActionError, CheckError, EpisodeOverError, TaskError
from agentrl.types import Task


class TwoStep:
    """Both agents act twice; agent b dies after the first step."""

    possible_agents = ("a", "b")

    def __init__(self, zombie=False):
        self.zombie, self.t, self.closed = zombie, 0, 0

    async def reset(self, task, seed):
        self.t = 0
        return {"a": "go", "b": {"role": "user", "content": "go"}}

    async def step(self, actions):
        self.t += 1
        if self.t == 1:
            obs = {"a": "again", "b": "undead"} if self.zombie else {"a": "again"}
            return StepResult(obs, {"a": 0.0, "b": 1.0}, {"b": True})
        return StepResult({}, {"a": 1.0}, {"a": True})

    async def close(self):
        self.closed += 1


async def test_guard_normalises_and_tracks_agents():
    env = ContractGuard(TwoStep())
    obs = await env.reset(Task(id="t"), 0)
    assert obs == {"a": ({"role": "user", "content": "go"},), "b": ({"role": "user", "content": "go"},)}
    r = await env.step({"a": "x", "b": "y"})
    assert set(r.obs) == {"a"} and env.agents_to_act == ("a",)
    r = await env.step({"a": "x"})
    assert env.episode_over
    with pytest.raises(EpisodeOverError, match="reset"):
        await env.step({"a": "x"})


async def test_wrong_action_keys_name_expected_agents():
    env = ContractGuard(TwoStep())
    await env.reset(Task(id="t"), 0)
    with pytest.raises(ActionError, match=r"agents to act are \['a', 'b'\]"):
        await env.step({"a": "x"})
    with pytest.raises(ActionError, match="reply text"):
        await env.step({"a": "x", "b": 3})


async def test_step_before_reset_and_bad_reset_args():
    env = ContractGuard(TwoStep())
    with pytest.raises(EpisodeOverError, match="before reset"):
        await env.step({"a": "x"})
    with pytest.raises(TaskError):
        await env.reset({"id": "t"}, 0)
    with pytest.raises(TaskError):
        await env.reset(Task(id="t"), "0")


async def test_dead_agents_must_stay_dead():
    env = ContractGuard(TwoStep(zombie=True))
    await env.reset(Task(id="t"), 0)
    with pytest.raises(CheckError, match="dead agents"):
        await env.step({"a": "x", "b": "y"})


async def test_close_is_idempotent():
    inner = TwoStep()
    env = ContractGuard(inner)
    await env.close()
    await env.close()
    assert inner.closed == 1


def test_missing_methods_are_reported():
    class Half:
        possible_agents = ("a",)

    with pytest.raises(CheckError, match="has no `reset`"):
        ContractGuard(Half())
