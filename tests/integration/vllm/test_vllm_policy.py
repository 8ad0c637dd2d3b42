"""VLLMPolicy against a real vLLM engine: token-exact multi-turn prompts, logprobs that match the learner's
recomputation, in-place weight sync, context overflow."""

from __future__ import annotations

import asyncio

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentrl.errors import ContextOverflowError
from agentrl.types import Turn

pytestmark = pytest.mark.vllm

_WORDS = ["the", "answer", "is", "7", "12", "+", "=", "what", "ok", "no", "move left", "?", "3 * 4"]
_text = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=6).map(" ".join)
_observation = st.tuples(st.sampled_from(["user", "tool", "system"]), _text).map(
    lambda rc: {"role": rc[0], "content": rc[1]})
_conversation = st.lists(st.lists(_observation, min_size=1, max_size=2), min_size=1, max_size=4)


async def play(policy, observations_per_turn) -> list[Turn]:
    """Feed observations turn by turn the way run_episode does; return the turns."""
    messages, turns, previous = [], [], None
    for shown in observations_per_turn:
        messages.extend(shown)
        turn = await policy.generate("agent", list(messages), previous)
        messages.append(turn.messages[-1])
        turns.append(turn)
        previous = turn
    return turns


def learner_logprobs(model, turn: Turn) -> torch.Tensor:
    ids = torch.tensor([list(turn.prompt_ids) + list(turn.completion_ids)])
    with torch.no_grad():
        logits = model(ids).logits[0, len(turn.prompt_ids) - 1:-1]
    return torch.log_softmax(logits.float(), -1).gather(-1, torch.tensor(turn.completion_ids)[:, None])[:, 0]


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(conversation=_conversation)
def test_multi_turn_prompts_are_token_exact(tiny_policy, engine_outputs, conversation):
    turns = asyncio.run(play(tiny_policy, conversation))
    for k, turn in enumerate(turns):
        out = engine_outputs[turn.info["request_id"]]
        assert list(turn.prompt_ids) == list(out.prompt_token_ids)
        assert list(turn.completion_ids) == list(out.outputs[0].token_ids)
        assert len(turn.logprobs) == len(turn.completion_ids) >= 1
        assert turn.messages[-1]["role"] == "assistant" and turn.messages[:-1] == tuple(conversation[k])
        if k == 0:
            assert list(turn.prompt_ids) == tiny_policy.chat.first(conversation[0])
            continue
        before = turns[k - 1]
        history = list(before.prompt_ids) + list(before.completion_ids)
        assert list(turn.prompt_ids[:len(history)]) == history
        rest = tiny_policy.tokenizer.decode(turn.prompt_ids[len(history):])
        new = tiny_policy.tokenizer.apply_chat_template(conversation[k], tokenize=False, add_generation_prompt=True)
        closing = "\n" if before.completion_ids[-1] == tiny_policy.tokenizer.eos_token_id else "<|im_end|>\n"
        assert rest == closing + new


def test_end_of_turn_is_not_doubled_after_eos(tiny_policy):
    eos = tiny_policy.tokenizer.eos_token_id
    newline = tiny_policy.tokenizer.encode("\n", add_special_tokens=False)
    shown = [{"role": "user", "content": "ok"}]
    after = {"prompt_ids": (5, 6), "context_messages": 1, "messages": ({"role": "assistant", "content": "x"},),
                 "agent": "a", "index": 0}
    stopped = tiny_policy.chat.extend(Turn(completion_ids=(7, eos), **after), shown)
    cut = tiny_policy.chat.extend(Turn(completion_ids=(7, 8), **after), shown)
    assert stopped[:5] == [5, 6, 7, eos, *newline]
    assert cut[:6] == [5, 6, 7, 8, eos, *newline]
    assert stopped[4:] == cut[5:]


def test_logprobs_match_the_learner_recomputation(tiny_policy, hf_model):
    turns = asyncio.run(play(tiny_policy, [[{"role": "user", "content": "What is 3 + 4?"}],
                                           [{"role": "user", "content": "no"}]]))
    for turn in turns:
        assert torch.allclose(torch.tensor(turn.logprobs), learner_logprobs(hf_model, turn), atol=2e-3)


def test_weight_update_changes_the_engine_and_matches_the_learner(tiny_policy, hf_model):
    original = {k: v.clone() for k, v in hf_model.state_dict().items()}
    generator = torch.Generator().manual_seed(1)
    perturbed = {k: v + 0.2 * torch.randn(v.shape, generator=generator) for k, v in original.items()}
    # The tiny model ties lm_head to the embedding: send one value for both, as a real learner's state holds
    # (independent noise on the two names is a state no model has; engines resolve it differently).
    hf_model.load_state_dict(perturbed)
    perturbed = {k: v.clone() for k, v in hf_model.state_dict().items()}
    hf_model.load_state_dict(original)
    try:
        seconds = tiny_policy.update_weights(perturbed.items(), version=7)
        assert seconds == tiny_policy.last_sync_seconds and seconds < 30
        turn = asyncio.run(play(tiny_policy, [[{"role": "user", "content": "What is 3 + 4?"}]]))[0]
        assert turn.policy_version == 7
        hf_model.load_state_dict(perturbed)
        assert torch.allclose(torch.tensor(turn.logprobs), learner_logprobs(hf_model, turn), atol=2e-3)
        hf_model.load_state_dict(original)
        assert not torch.allclose(torch.tensor(turn.logprobs), learner_logprobs(hf_model, turn), atol=0.05)
    finally:
        hf_model.load_state_dict(original)
        tiny_policy.update_weights(original.items(), version=0)
    turn = asyncio.run(play(tiny_policy, [[{"role": "user", "content": "What is 3 + 4?"}]]))[0]
    assert torch.allclose(torch.tensor(turn.logprobs), learner_logprobs(hf_model, turn), atol=2e-3)


def test_prompt_longer_than_the_context_raises_context_overflow(tiny_policy):
    long = " ".join(["7"] * 300)
    with pytest.raises(ContextOverflowError, match="max_model_len"):
        asyncio.run(tiny_policy.generate("agent", [{"role": "user", "content": long}]))


async def test_many_concurrent_episodes_share_the_engine(tiny_policy):
    conversations = [[[{"role": "user", "content": f"{i} + {i} ="}], [{"role": "user", "content": "ok"}]]
                     for i in range(10)]
    results = await asyncio.gather(*(play(tiny_policy, c) for c in conversations))
    assert all(len(turns) == 2 and len(turns[1].completion_ids) >= 1 for turns in results)


async def test_hosted_rounds_run_on_the_engine_loop_token_exactly(tiny_policy, engine_outputs):
    import threading

    from agentrl.errors import PolicyError

    seen = []

    async def round_():
        seen.append(threading.current_thread())
        return await asyncio.gather(*(play(tiny_policy, [[{"role": "user", "content": f"{i} ="}],
                                                         [{"role": "user", "content": "again"}]]) for i in range(4)))

    results = await tiny_policy.hosted(round_())
    assert seen == [tiny_policy._thread] and threading.current_thread() is not tiny_policy._thread
    for turns in results:
        for turn in turns:  # the same token-exact contract as from the caller's loop
            out = engine_outputs[turn.info["request_id"]]
            assert list(turn.prompt_ids) == list(out.prompt_token_ids)
            assert list(turn.completion_ids) == list(out.outputs[0].token_ids)
        history = list(turns[0].prompt_ids) + list(turns[0].completion_ids)
        assert list(turns[1].prompt_ids[:len(history)]) == history

    async def blocking_inside():
        tiny_policy.update_weights([("x", torch.zeros(1))])

    with pytest.raises(PolicyError, match="after the hosted rollouts return"):
        await tiny_policy.hosted(blocking_inside())
