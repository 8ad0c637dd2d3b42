"""A Ray run killed mid-training (SIGKILL of the driver) resumes from its last checkpoint with the same data order
and makes the same next update as the run that was never interrupted.

Exactness needs a reproducible sampler: vLLM batches concurrent requests, so its numerics (and hence samples)
depend on timing. These runs use `model.engine=torch` (`TorchSamplerPolicy`: each turn sampled alone with a
seed derived from the episode's seed) and the synchronous schedule (each batch sampled by the newest weights).
The learner, checkpoints, actors and driver are the same as with vLLM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from agentrl.config import load_config
from agentrl.distributed.config import RayTrainConfig
from agentrl.distributed.driver import train_ray


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


pytestmark = pytest.mark.ray

STEPS = 6
TASKS, GROUP = 8, 8
TOLERANCE = 1e-6


def overrides(out) -> list[str]:
    return [f"run.out_dir={out}", f"run.steps={STEPS}", "run.save_every=2", "run.tensorboard=false",
            "run.log_every=1", "env.id=debug/SlowEcho-v0", "env.kwargs={step_delay: 0.0}",
            "distributed.setup=[agentrl.distributed.slow_env:register]", "distributed.mode=sync",
            "model.engine=torch", "distributed.num_env_actors=2", "distributed.num_rollout_workers=1",
            f"rollout.tasks_per_step={TASKS}", f"rollout.group_size={GROUP}", "rollout.max_tokens=2", "model.max_model_len=256",
            "learner.lr=0.01",
            "env.reward_weights={closeness: 1.0}"]  # a dense term, so a random model's updates are not all zero


def sampled(episodes: list[dict]) -> list[tuple]:
    return [(e["info"]["step"], e["task"]["id"], e["seed"], tuple(t["completion_ids"] for t in e["turns"]))
            for e in episodes]


def test_killed_run_resumes_with_the_same_next_update(ray_cluster, tmp_path):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    train_ray(load_config(RayTrainConfig, None, overrides(whole)))

    cmd = [sys.executable, "-m", "agentrl.distributed.cli", *overrides(broken), f"distributed.address={ray_cluster}",
           "distributed.namespace=agentrl-resume-test"]
    killed = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    deadline = time.monotonic() + 300
    while len(read_jsonl(broken / "metrics.jsonl")) < 3 and killed.poll() is None:
        assert time.monotonic() < deadline, "the run to interrupt made no progress"
        time.sleep(0.05)
    os.killpg(killed.pid, signal.SIGKILL)  # no chance to checkpoint: resume must use the last periodic one
    killed.wait(timeout=30)
    assert killed.returncode == -signal.SIGKILL, killed.stdout.read()
    checkpoints = sorted(p.name for p in (broken / "checkpoints").glob("step-*"))
    assert checkpoints, "no checkpoint before the kill"
    resumed_from = int(checkpoints[-1].split("-")[1])
    assert resumed_from < STEPS

    train_ray(load_config(RayTrainConfig, None, overrides(broken)))

    a, b = read_jsonl(whole / "metrics.jsonl"), read_jsonl(broken / "metrics.jsonl")
    assert [r["step"] for r in b] == list(range(1, STEPS + 1))  # trimmed past the checkpoint, then redone
    nxt = resumed_from  # index of the first update after the resume
    assert b[nxt]["learner/start_version"] == resumed_from
    assert any(r["learner/grad_norm"] > 0 for r in b[nxt:])  # real updates (a random model's reward is sparse)
    for row_a, row_b in zip(a[nxt:], b[nxt:]):
        for key in [k for k in row_a if k.startswith("loss/")] + ["learner/grad_norm", "rollout/reward"]:
            assert row_b[key] == pytest.approx(row_a[key], abs=TOLERANCE), (row_a["step"], key)
    ea, eb = read_jsonl(whole / "episodes.jsonl"), read_jsonl(broken / "episodes.jsonl")
    assert len(eb) == len(ea) == STEPS * TASKS * GROUP  # nothing regenerated twice
    assert sampled(eb) == sampled(ea)  # same data order, same tokens
