"""`agentrl train` on one GPU: the learner on CUDA beside the vLLM engine, weights handed over by CUDA IPC after
every update, and the held-out evaluation before and after."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.gpu, pytest.mark.vllm]


def test_train_puts_the_learner_on_the_gpu_and_syncs_by_cuda_ipc(tmp_path):
    from agentrl.config import load_config
    from agentrl.train import TrainConfig, train

    cfg = load_config(TrainConfig, "launch/configs/quickstart.yaml",
                      ["run.steps=3", f"run.out_dir={tmp_path}", "run.eval_split=test", "run.eval_every=2",
                       "run.tensorboard=false"])
    metrics = train(cfg)
    assert metrics["learner/version"] == 3
    assert metrics["sync/cuda_ipc"] == 1.0
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    evals = [r["step"] for r in rows if "eval/success" in r]
    print(f"\nsync seconds per step: {[round(r['time/sync_s'], 3) for r in rows if 'time/sync_s' in r]}; "
          f"evaluations after {evals} updates")
    assert evals == [0, 2, 3]
