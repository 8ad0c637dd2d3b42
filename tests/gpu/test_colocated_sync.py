"""Colocated weight sync on one GPU: a CUDA learner hands its tensors to the engine as CUDA IPC handles.

Checked by the engine's greedy output: new weights change it, the learner's old weights bring it back
exactly, and its logprobs match the learner's own recomputation on the GPU."""

from __future__ import annotations

import asyncio
import statistics

import pytest
import torch

from agentrl.models import build_tiny_model

pytestmark = [pytest.mark.gpu, pytest.mark.vllm]

# Random Qwen2s of docs/gpu.md: 519.5M parameters, and a 1.5B shape; with the sync-time goals.
SIZES = {
    "0.5b": ({"hidden_size": 1280, "num_layers": 22, "num_heads": 20, "num_kv_heads": 4, "head_dim": 64}, 1.0),
    "1.5b": ({"hidden_size": 2048, "num_layers": 24, "num_heads": 16, "num_kv_heads": 4, "head_dim": 128}, 2.0),
}
PROMPT = [{"role": "user", "content": "What is 3 + 4? Say the answer."}]


@pytest.fixture(scope="module", params=sorted(SIZES))
def sized_model(request, tmp_path_factory):
    shape, goal = SIZES[request.param]
    return build_tiny_model(tmp_path_factory.mktemp(request.param) / "model", **shape), goal


def greedy(policy):
    view = policy.with_sampling(temperature=0.0, max_tokens=16)
    return asyncio.run(view.generate("agent", PROMPT))


def learner_logprobs(model, turn):
    ids = torch.tensor([list(turn.prompt_ids) + list(turn.completion_ids)], device="cuda")
    with torch.no_grad():
        logits = model(ids).logits[0, len(turn.prompt_ids) - 1:-1].float()
    target = torch.tensor(turn.completion_ids, device="cuda")[:, None]
    return torch.log_softmax(logits, -1).gather(-1, target)[:, 0].cpu()


def test_weights_move_to_the_engine_by_cuda_ipc_within_the_goal(sized_model):
    from transformers import AutoModelForCausalLM

    from agentrl.inference import VLLMPolicy

    half_b, goal = sized_model
    learner = AutoModelForCausalLM.from_pretrained(half_b, dtype=torch.bfloat16).cuda().eval()
    original = {k: v.clone() for k, v in learner.state_dict().items()}
    with VLLMPolicy(str(half_b), max_model_len=512, max_num_seqs=64, seed=0) as policy:
        before = greedy(policy)
        generator = torch.Generator(device="cuda").manual_seed(1)
        with torch.no_grad():
            for p in learner.parameters():
                p.add_(0.5 * p.std() * torch.randn(p.shape, generator=generator, device="cuda", dtype=p.dtype))
        seconds = [policy.update_weights(learner.state_dict().items()) for _ in range(5)]
        assert policy.last_sync_path == "cuda-ipc"
        changed = greedy(policy)
        assert changed.completion_ids != before.completion_ids
        gap = (torch.tensor(changed.logprobs) - learner_logprobs(learner, changed)).abs().max().item()
        learner.load_state_dict(original)
        policy.update_weights(learner.state_dict().items())
        restored = greedy(policy)
        print(f"\ncuda-ipc sync of {sum(v.numel() for v in original.values()) / 1e6:.1f}M parameters: "
              f"median {statistics.median(seconds):.3f} s, all {[round(s, 3) for s in seconds]}; "
              f"max |engine - learner| logprob after sync {gap:.4f}")
        assert restored.completion_ids == before.completion_ids
        assert gap < 0.1  # bf16 engine vs bf16 learner, different kernels
        assert statistics.median(seconds) < goal
