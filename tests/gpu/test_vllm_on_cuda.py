"""tests/integration/vllm's VLLMPolicy tests (token exactness, logprobs, weight sync, chunked host sync, reply
text, overflow, concurrency) run unchanged on the CUDA build, with the GPU defaults (CUDA graphs, memory sized in bytes)."""

from __future__ import annotations

import pytest
from reuse import load

pytestmark = [pytest.mark.gpu, pytest.mark.vllm]

for _name in ("test_vllm_policy", "test_sampling_view", "test_weight_sync_chunks", "test_reply_text"):
    _module = load(_name)
    # SmolLM2 is the CPU tier's (its GGUF conversion is not part of the GPU bundle)
    globals().update({k: v for k, v in vars(_module).items() if k.startswith("test_") and "smollm2" not in k})


def test_the_engine_runs_on_cuda_with_graphs_and_a_byte_sized_cache(tiny_policy):
    args = tiny_policy.engine_args
    assert args["enforce_eager"] is False
    assert args["kv_cache_memory_bytes"] > 0 and 0 < args["gpu_memory_utilization"] < 0.5
    assert len(tiny_policy._device_uuid) >= 32  # the worker reported its GPU, so CUDA IPC sync is possible
