"""The SmolLM2 GPU config (launch/configs/smollm2_gpu.yaml, measured on an H200 in docs/gpu.md) runs on CPU to its
first steps: the real model converted from the shipped GGUF, vLLM's CPU build, the learner on CPU (learner.device:
auto), the held-out evaluation before the first update and after the last. Only sizes and dtypes are overridden,
to fit the suite's memory bar (below)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentrl.config import load_config
from agentrl.training.config import TrainConfig

pytestmark = pytest.mark.vllm
ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "launch/configs/smollm2_gpu.yaml")


def test_the_smollm2_gpu_config_trains_on_cpu(tmp_path):
    overrides = ["run.steps=2", "rollout.tasks_per_step=2", "rollout.group_size=2", "rollout.max_turns=2",
                 # Sized for the suite's memory bar: the README's test command passes while another process
                 # holds all but ~3 GiB of the machine (docs/reliability.md, "Tests under memory pressure").
                 # In the config's float32 this test alone peaked at 7.35 GiB: a float32 engine, and a
                 # learner with float32 weights, gradients and AdamW moments (2 GiB for 135M parameters).
                 # So learner and engine run in bfloat16 (the CPU has avx512_bf16; both halve, and the
                 # engine still scores tokens in the learner's dtype). Pure bf16 weights round away most
                 # AdamW steps at the config's lr (about 2% of the weights move per step): this test
                 # checks that the config's pipeline runs, not that it learns (docs/gpu.md has the runs).
                 "learner.dtype=bfloat16", "model.dtype=bfloat16",
                 # 32 sequences at once as before, in a KV cache of 128 MiB: 5.8k tokens in bf16, 182 per
                 # sequence at 32 at once, where the longest episode here is 102 tokens (2 turns of at most
                 # 16; measured); 32 full 2048-token sequences would take 1.5 GiB. And one sequence per
                 # learner forward (accumulated gradients equal the whole batch's)
                 "model.max_num_seqs=32", "model.kv_cache_memory_bytes=134217728",
                 "learner.micro_batch_size=1",
                 "run.tensorboard=false", f"run.out_dir={tmp_path}"]
    cfg = load_config(TrainConfig, CONFIG, overrides)
    assert cfg.learner.device == "auto" and cfg.run.eval_split == "test"
    assert cfg.learner.dtype == cfg.model.dtype == "bfloat16"
    # `agentrl train` in its own process, as users run it: the learner and engine it builds leave nothing in
    # the test process, which a suite under the memory bar cannot afford
    done = subprocess.run([sys.executable, "-m", "agentrl.cli", "train", "--config", CONFIG, *overrides],
                          cwd=ROOT, capture_output=True, text=True, timeout=1500, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in rows if "learner/version" in r][-1]
    assert last["learner/version"] == 2
    assert last["sync/cuda_ipc"] == 0.0  # no GPU here: the host path
    assert [r["step"] for r in rows if "eval/success" in r] == [0, 2]
    episodes = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert len(episodes) == 8 and all(e["status"] in ("ok", "truncated") for e in episodes)
    assert all(len(t["completion_ids"]) == len(t["logprobs"]) > 0 for e in episodes for t in e["turns"])
