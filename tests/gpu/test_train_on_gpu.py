"""`agentrl train` on one GPU: the learner on CUDA beside the vLLM engine, weights handed over by CUDA IPC after
every update, and the held-out evaluation before and after."""

from __future__ import annotations

import asyncio
import json

import pytest

pytestmark = [pytest.mark.gpu, pytest.mark.vllm]


@pytest.mark.parametrize("sleep", [False, True], ids=["awake", "sleep-during-update"])
def test_train_puts_the_learner_on_the_gpu_and_syncs_by_cuda_ipc(tmp_path, sleep):
    from agentrl.config import load_config
    from agentrl.train import TrainConfig, train

    cfg = load_config(TrainConfig, "launch/configs/quickstart.yaml",
                      ["run.steps=3", f"run.out_dir={tmp_path}", "run.eval_split=test", "run.eval_every=2",
                       "run.tensorboard=false", f"model.sleep_during_update={str(sleep).lower()}"])
    metrics = train(cfg)
    assert ("time/wake_s" in metrics) is sleep
    assert metrics["learner/version"] == 3
    assert metrics["sync/cuda_ipc"] == 1.0
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    evals = [r["step"] for r in rows if "eval/success" in r]
    print(f"\nsync seconds per step: {[round(r['time/sync_s'], 3) for r in rows if 'time/sync_s' in r]}; "
          f"evaluations after {evals} updates")
    assert evals == [0, 2, 3]


def test_an_engine_asleep_lends_its_gpu_memory_and_wakes_unchanged(tmp_path):
    import torch

    from agentrl.errors import PolicyError
    from agentrl.inference import VLLMPolicy
    from agentrl.models import build_tiny_model

    path = build_tiny_model(tmp_path / "model", hidden_size=1280, num_layers=22, num_heads=20, num_kv_heads=4,
                            head_dim=64)
    prompt = [{"role": "user", "content": "What is 3 + 4?"}]
    with VLLMPolicy(str(path), max_model_len=2048, max_num_seqs=64, seed=0, sleep_mode=True) as policy:
        view = policy.with_sampling(temperature=0.0, max_tokens=16)
        before = asyncio.run(view.generate("agent", prompt))
        awake_free = torch.cuda.mem_get_info()[0]
        slept = policy.sleep()
        asleep_free = torch.cuda.mem_get_info()[0]
        with pytest.raises(PolicyError, match="asleep"):
            asyncio.run(view.generate("agent", prompt))
        woke = policy.wake()
        after = asyncio.run(view.generate("agent", prompt))
        kv = policy.engine_args["kv_cache_memory_bytes"]
    lent = asleep_free - awake_free
    print(f"\nsleep {slept:.2f} s, wake {woke:.2f} s; GPU memory lent while asleep {lent / 2**30:.2f} GiB "
          f"(KV cache {kv / 2**30:.2f} GiB + weights)")
    assert lent > kv  # the KV cache and the weights both left the GPU
    assert after.completion_ids == before.completion_ids
