"""The two ways weights reach a CUDA engine (host bytes from CPU tensors, CUDA IPC from GPU tensors) load the
same values: after the same perturbed state through either path the engine's greedy turn is identical, token for
token and logprob for logprob. What remains between the engine and a learner's recomputation is the arithmetic of
the two sides (kernels, attention backend), which the test prints for docs/gpu.md."""

from __future__ import annotations

import asyncio

import pytest
import torch

from agentrl.models import build_tiny_model

pytestmark = [pytest.mark.gpu, pytest.mark.vllm]
PROMPT = [{"role": "user", "content": "What is 3 + 4?"}]


def greedy(policy):
    return asyncio.run(policy.with_sampling(temperature=0.0, max_tokens=8).generate("agent", PROMPT))


def recomputed(model, turn, device):
    ids = torch.tensor([list(turn.prompt_ids) + list(turn.completion_ids)], device=device)
    with torch.no_grad():
        logits = model(ids).logits[0, len(turn.prompt_ids) - 1:-1].float()
    target = torch.tensor(turn.completion_ids, device=device)[:, None]
    return torch.log_softmax(logits, -1).gather(-1, target)[:, 0].cpu()


def test_host_bytes_and_cuda_ipc_load_the_same_weights(tmp_path):
    from transformers import AutoModelForCausalLM

    from agentrl.inference import VLLMPolicy

    path = build_tiny_model(tmp_path / "model")
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # the same perturbation as the CPU tier's weight-update test
        for p in model.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=generator))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with VLLMPolicy(str(path), max_tokens=8, max_model_len=256, dtype="float32", seed=0, max_num_seqs=16) as policy:
        policy.update_weights(state.items(), version=1)
        assert policy.last_sync_path != "cuda-ipc"
        by_host = greedy(policy)
        policy.update_weights(((k, v.cuda()) for k, v in state.items()), version=2)
        assert policy.last_sync_path == "cuda-ipc"
        by_ipc = greedy(policy)
    assert by_ipc.completion_ids == by_host.completion_ids
    assert torch.equal(torch.tensor(by_ipc.logprobs), torch.tensor(by_host.logprobs))
    cpu_gap = (torch.tensor(by_host.logprobs) - recomputed(model, by_host, "cpu")).abs().max().item()
    gpu_gap = (torch.tensor(by_host.logprobs) - recomputed(model.cuda(), by_host, "cuda")).abs().max().item()
    print(f"\nfp32 engine after a perturbed update: max |engine - learner| logprob {cpu_gap:.2e} (learner on CPU), "
          f"{gpu_gap:.2e} (learner on the GPU); host path == IPC path exactly")
