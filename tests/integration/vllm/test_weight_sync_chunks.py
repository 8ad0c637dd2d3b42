"""A host weight sync in many small chunks (one layer per RPC, each reloaded in place) leaves the real vLLM engine
exactly where one whole-state sync does: the same greedy tokens, sampled-token and prompt logprobs to the bit;
and both equal the learner's own recomputation with the weights sent, over several syncs of a model trained in
place (a learner's state_dict, the tied head and embedding one tensor, as `Learner.export_weights` gives)."""

from __future__ import annotations

import asyncio

import pytest
import torch

pytestmark = pytest.mark.vllm

_PROMPT = [{"role": "user", "content": "What is 3 + 4?"}]


def _learner_logprobs(model, ids: list[int], n: int) -> torch.Tensor:
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, -n - 1:-1]
    return torch.log_softmax(logits.float(), -1).gather(-1, torch.tensor(ids[-n:])[:, None])[:, 0]


def _outputs(policy) -> tuple[list[int], list[float], list[float]]:
    prompt = policy.chat.first(_PROMPT)
    out = asyncio.run(policy.raw_generate(prompt, temperature=0.0, max_tokens=8, logprobs=0, prompt_logprobs=0))
    sample = out.outputs[0]
    sampled = [sample.logprobs[i][t].logprob for i, t in enumerate(sample.token_ids)]
    scored = [lp[tok].logprob for lp, tok in zip(out.prompt_logprobs[1:], prompt[1:], strict=True)]
    return list(sample.token_ids), sampled, scored


def test_a_chunked_sync_equals_a_whole_state_sync(tiny_policy, hf_model):
    original = {k: v.clone() for k, v in hf_model.state_dict().items()}
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():  # a perturbed state as a learner holds it (tied head and embedding one tensor)
        for p in hf_model.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=generator))
    perturbed = list(hf_model.state_dict().items())
    before = _outputs(tiny_policy)
    default = tiny_policy.weight_sync_chunk_bytes
    try:
        tiny_policy.weight_sync_chunk_bytes = 0
        tiny_policy.update_weights(perturbed, version=1)
        assert tiny_policy.last_sync_chunks == 1
        whole = _outputs(tiny_policy)
        assert whole != before  # the sync changed the engine

        tiny_policy.update_weights(original.items(), version=0)
        assert _outputs(tiny_policy) == before
        tiny_policy.weight_sync_chunk_bytes = 1  # every layer alone: embedding+norm+head, layer 0, layer 1
        tiny_policy.update_weights(perturbed, version=1)
        assert tiny_policy.last_sync_chunks == 3 and tiny_policy.last_sync_path == "host"
        assert _outputs(tiny_policy) == whole  # tokens and every logprob, exactly
    finally:
        tiny_policy.weight_sync_chunk_bytes = default
        hf_model.load_state_dict(original)
        tiny_policy.update_weights(original.items(), version=0)
    assert _outputs(tiny_policy) == before


@pytest.mark.parametrize("chunk_bytes", [0, 1])
def test_syncs_after_updates_in_place_match_the_learner(tiny_policy, hf_model, chunk_bytes):
    """Found by the quickstart, which stopped learning when the tied head was left out of a sync: vLLM's reload
    unties it while loading, so the CPU engine kept the old head. Every sync must give the learner's logprobs."""
    original = {k: v.clone() for k, v in hf_model.state_dict().items()}
    optimizer = torch.optim.AdamW(hf_model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(5)
    default = tiny_policy.weight_sync_chunk_bytes
    prompt = tiny_policy.chat.first(_PROMPT)
    try:
        tiny_policy.weight_sync_chunk_bytes = chunk_bytes
        for step in range(3):
            ids = torch.randint(0, 100, (1, 16), generator=generator)
            hf_model.train()
            hf_model(ids, labels=ids).loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            hf_model.eval()
            tiny_policy.update_weights(((n, t.detach()) for n, t in hf_model.state_dict().items()), version=step + 1)
            tokens, sampled, _ = _outputs(tiny_policy)
            learner = _learner_logprobs(hf_model, prompt + tokens, len(tokens))
            assert torch.allclose(torch.tensor(sampled), learner, atol=2e-3), (step, sampled, learner.tolist())
    finally:
        tiny_policy.weight_sync_chunk_bytes = default
        hf_model.load_state_dict(original)
        tiny_policy.update_weights(original.items(), version=0)
