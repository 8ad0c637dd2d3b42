"""Reward hacks on the traffic envs, in the real highway-env and SUMO simulators through the env API and the
registered CaRL / queue rubrics: replies that are not actions, and replies that exploit the text parser."""

import asyncio
import os

import pytest

from agentrl import registry
from agentrl.policy_contract import ScriptedPolicy
from agentrl.rollout import run_episode

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
SHOTGUN = "LANE_LEFT IDLE FASTER SLOWER LANE_RIGHT"


@pytest.fixture(scope="module", autouse=True)
def traffic_envs():
    from agentrl.environments.traffic import register_envs
    register_envs(override=True)


def _play(env_id, reply, max_turns=10):
    task, rubric = registry.tasks(env_id)[0], registry.rubric(env_id)
    policy = ScriptedPolicy(lambda agent, messages, rng: reply)
    return asyncio.run(run_episode(registry.make(env_id), policy, task, 0, rubric, max_turns=max_turns))


@pytest.mark.parametrize("reply", ["", "I would rather not drive.", "<tool_call>{}</tool_call>", "Action: 9"])
def test_replies_that_are_not_actions_earn_nothing_where_the_env_drives_idle(reply):
    """traffic/MergeRoles-v0 drives IDLE for a non-action: the car moves, but the reply must not earn it."""
    ep = _play("traffic/MergeRoles-v0", reply)
    assert ep.status.value == "ok", ep.error
    for agent in ("agent_0", "agent_1"):
        assert ep.outcome_rewards[agent]["invalid_replies"] == len(ep.turns_of(agent))
        assert ep.reward[agent] == 0.0


@pytest.mark.parametrize("env_id", ["traffic/Highway-v0", "traffic/MergeRoles-v0"])
def test_naming_every_action_is_not_a_choice(env_id):
    """A reply listing every action (or every number) lets the parser choose; it must be refused, not driven."""
    ep = _play(env_id, SHOTGUN if env_id == "traffic/Highway-v0" else "0 1 2 3 4\nFASTER IDLE")
    infos = [t.info for t in ep.turns]
    assert infos and all("name exactly one action" in (i.get("invalid_action") or "") or i.get("invalid_reply")
                         for i in infos), infos[:2]
    assert all(r == 0.0 for r in ep.reward.values()), ep.reward


def test_a_signal_reply_listing_every_phase_is_refused():
    env_id = "traffic/SumoSingle-v0"
    ep = _play(env_id, "PHASE 0 or PHASE 1 or PHASE 2 or PHASE 3", max_turns=4)
    assert ep.turns and all("one phase number" in (t.info.get("invalid_action") or "") for t in ep.turns)
    assert ep.status.value in ("ok", "truncated"), ep.error
