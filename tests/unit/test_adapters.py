"""The adapters against real Gymnasium and PettingZoo envs: the wrapped run reproduces the simulator."""

import gymnasium

import agentrl
from agentrl.adapters import GymnasiumEnv, PettingZooParallelEnv
from agentrl.env import InvalidAction
from agentrl.policy_contract import ScriptedPolicy
from agentrl.types import Status, Task

MOVES = {"left": 0, "down": 1, "right": 2, "up": 3}


def parse_move(agent, text):
    word = text.strip().lower()
    if word not in MOVES:
        raise InvalidAction(f"{text!r} is not a move; reply with one of {sorted(MOVES)}.")
    return MOVES[word]


def frozen_lake():
    return GymnasiumEnv(lambda: gymnasium.make("FrozenLake-v1", is_slippery=True),
                        observe=lambda agent, obs, info: f"You are on cell {obs}.", parse_action=parse_move)


async def test_gymnasium_adapter_reproduces_the_simulator_exactly():
    replies = ["right", "down", "right", "down", "down", "right"] * 5
    ep = await agentrl.run_episode(frozen_lake(), ScriptedPolicy(replies=replies), Task(id="lake"), 11, max_turns=30)
    raw = gymnasium.make("FrozenLake-v1", is_slippery=True)
    obs, _ = raw.reset(seed=11)
    expected_obs, expected_rewards = [], []
    for reply in replies[: len(ep.turns)]:
        obs, r, term, trunc, _ = raw.step(MOVES[reply])
        expected_obs.append(f"You are on cell {obs}.")
        expected_rewards.append(float(r))
        if term or trunc:
            break
    shown = [t.messages[0]["content"] for t in ep.turns[1:]]
    assert shown == expected_obs[: len(shown)]
    assert [t.rewards["env"] for t in ep.turns] == expected_rewards[: len(ep.turns)]


async def test_invalid_actions_are_shown_back_then_truncate():
    ep = await agentrl.run_episode(frozen_lake(), ScriptedPolicy(replies=["fly"]), Task(id="lake"), 0)
    assert ep.status is Status.OK and len(ep.turns) == 3  # max_invalid=3 retries, then the agent is truncated
    assert "not a move" in ep.turns[1].messages[0]["content"]
    assert ep.turns[-1].info["invalid_action"].startswith("'fly'")


def rps():
    from pettingzoo.classic import rps_v2

    names = {"rock": 0, "paper": 1, "scissors": 2}

    def parse(agent, text):
        if text not in names:
            raise InvalidAction("reply rock, paper or scissors")
        return names[text]

    return PettingZooParallelEnv(lambda: rps_v2.parallel_env(max_cycles=3),
                                 observe=lambda agent, obs, info: f"opponent last played {int(obs)}",
                                 parse_action=parse)


async def test_parallel_adapter_simultaneous_moves_and_rewards():
    policy = {"player_0": ScriptedPolicy(replies=["rock"]), "player_1": ScriptedPolicy(replies=["paper"])}
    ep = await agentrl.run_episode(rps(), policy, Task(id="rps"), 0)
    assert ep.status is Status.OK
    assert [t.index for t in ep.turns] == [0, 0, 1, 1, 2, 2]  # both agents act each step
    assert ep.reward == {"player_0": -3.0, "player_1": 3.0}


async def test_parallel_adapter_retries_when_one_reply_is_invalid():
    policy = {"player_0": ScriptedPolicy(replies=["lizard", "rock"]), "player_1": ScriptedPolicy(replies=["paper"])}
    ep = await agentrl.run_episode(rps(), policy, Task(id="rps"), 0, max_turns=2)
    first, second = ep.turns[0:2], ep.turns[2:4]
    assert all(t.rewards["env"] == 0.0 for t in first)
    assert "Invalid action" in second[0].messages[0]["content"]
    assert "Another agent" in second[1].messages[0]["content"]
