"""The SmolLM2 GPU config (launch/configs/smollm2_gpu.yaml, measured on an H200 in docs/gpu.md) runs unchanged
on CPU to its first steps: the real model converted from the shipped GGUF, vLLM's CPU build, the learner on CPU
(learner.device: auto), the held-out evaluation before the first update and after the last."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.vllm


def test_the_smollm2_gpu_config_trains_on_cpu(tmp_path):
    from agentrl.config import load_config
    from agentrl.train import TrainConfig, train

    cfg = load_config(TrainConfig, "launch/configs/smollm2_gpu.yaml",
                      ["run.steps=2", "rollout.tasks_per_step=2", "rollout.group_size=2", "rollout.max_turns=2",
                       # sized for a small shared machine (docs/reliability.md): 32 sequences at once as before,
                       # but a KV cache of 768 MiB in place of 32 full 2048-token ones (2.95 GiB in float32; an
                       # episode here is a few hundred tokens), and one sequence per learner forward
                       # (accumulated gradients equal the whole batch's)
                       "model.max_num_seqs=32", "model.kv_cache_memory_bytes=805306368",
                       "learner.micro_batch_size=1",
                       "run.tensorboard=false", f"run.out_dir={tmp_path}"])
    assert cfg.learner.device == "auto" and cfg.run.eval_split == "test"
    metrics = train(cfg)
    assert metrics["learner/version"] == 2
    assert metrics["sync/cuda_ipc"] == 0.0  # no GPU here: the host path
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "eval/success" in r] == [0, 2]
    episodes = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert len(episodes) == 8 and all(e["status"] in ("ok", "truncated") for e in episodes)
    assert all(len(t["completion_ids"]) == len(t["logprobs"]) > 0 for e in episodes for t in e["turns"])
