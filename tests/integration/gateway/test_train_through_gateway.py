"""`agentrl train` on a gateway-backed env: the example program (environments/say_word_agent.py, a subprocess that
knows nothing of agentrl) plays every episode through the gateway, backed by the trainer's own engine (the torch
sampler). The weights update every step and every turn carries the version that sampled it."""

from __future__ import annotations

import json

from agentrl.config import load_config
from agentrl.environments import external_demo
from agentrl.train import train
from agentrl.training.config import TrainConfig

STEPS = 3


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_train_updates_the_weights_the_gateway_serves(tmp_path):
    external_demo.register(timeout=120)
    cfg = load_config(TrainConfig, "launch/configs/quickstart.yaml", [
        f"env.id={external_demo.ENV_ID}", "env.kwargs={}", "model.engine=torch", "rollout.tasks_per_step=2",
        "rollout.group_size=2", "rollout.max_tokens=3", "algorithm.advantage.estimator=grpo",
        "run.tensorboard=false", "run.log_every=1", "learner.micro_batch_size=64", f"run.steps={STEPS}",
        "run.save_every=100", f"run.out_dir={tmp_path}"])
    train(cfg)
    metrics = rows(tmp_path / "metrics.jsonl")
    assert [m["learner/version"] for m in metrics] == [1.0, 2.0, 3.0]  # three updates, each synced to the engine
    episodes = rows(tmp_path / "episodes.jsonl")
    assert len(episodes) == STEPS * 4 and all(e["status"] == "ok" for e in episodes)
    for e in episodes:
        step = e["info"]["step"]
        assert len(e["turns"]) == 3 and e["info"]["program"] == {**e["info"]["program"], "exit_code": 0, "segments": 1}
        assert e["policy_version"] == step
        assert [t["policy_version"] for t in e["turns"]] == [step] * 3  # the weights of the step that played it
        assert all(t["completion_ids"] and len(t["logprobs"]) == len(t["completion_ids"]) for t in e["turns"])
        assert "said_word" in e["outcome_rewards"]["agent"]
