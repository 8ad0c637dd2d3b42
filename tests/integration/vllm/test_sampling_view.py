"""`VLLMPolicy.with_sampling`: one engine, several reply lengths."""

import asyncio

import pytest

pytestmark = pytest.mark.vllm


def test_a_view_samples_with_its_own_settings_on_the_same_engine(tiny_policy):
    short = tiny_policy.with_sampling(max_tokens=2, temperature=0.0)
    messages = [{"role": "user", "content": "say something long"}]
    turn = asyncio.run(short.generate("agent", messages))
    assert 1 <= len(turn.completion_ids) <= 2 and len(turn.logprobs) == len(turn.completion_ids)
    assert short.engine is tiny_policy.engine and short.tokenizer is tiny_policy.tokenizer
    assert tiny_policy.sampling["max_tokens"] == 8  # the engine's own settings are untouched
    short.close()  # a view does not own the engine
    assert len(asyncio.run(tiny_policy.generate("agent", messages)).completion_ids) >= 1


def test_a_view_refuses_settings_it_does_not_know(tiny_policy):
    with pytest.raises(ValueError, match="takes only"):
        tiny_policy.with_sampling(max_new_tokens=4)
