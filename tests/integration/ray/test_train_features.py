"""`agentrl train` features on Ray: dynamic sampling (refill rounds keep only groups whose rewards differ, with
the single-process trainer's task draws, seeds and group ids) and PPO's value head (`algorithm.advantage.estimator=gae`
with `learner.value_head`), in one short synchronous run with the torch sampler."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
import torch

from agentrl import registry
from agentrl.config import load_config
from agentrl.distributed.config import RayTrainConfig
from agentrl.distributed.driver import train_ray
from agentrl.training.schedule import episode_seed, refill_rng

pytestmark = pytest.mark.ray

STEPS, TASKS, GROUP, ROUNDS, SEED = 2, 4, 8, 3, 0


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def overrides(out) -> list[str]:
    return [f"run.out_dir={out}", f"run.steps={STEPS}", "run.save_every=1", "run.tensorboard=false",
            f"run.seed={SEED}", "env.id=debug/SlowEcho-v0", "env.kwargs={step_delay: 0.0}",
            "env.reward_weights={closeness: 1.0}",  # dense, so some groups differ and some (no digit at all) do not
            "distributed.setup=[agentrl.distributed.slow_env:register]", "distributed.mode=sync",
            "model.engine=torch", "distributed.num_env_actors=1", f"rollout.tasks_per_step={TASKS}",
            f"rollout.group_size={GROUP}", "rollout.max_tokens=1", "rollout.dynamic_sampling=true",
            f"rollout.max_sampling_rounds={ROUNDS}", "model.max_model_len=256", "model.tiny={vocab_size: 128}",
            "algorithm.advantage.estimator=gae", "algorithm.advantage.gamma=1.0", "algorithm.advantage.lam=0.95",
            "learner.value_head=true",
            "learner.lr=0.001", "learner.micro_batch_size=64"]


def constant(group: list[dict]) -> bool:
    rewards = [r for e in group for r in e["reward"].values()]
    return max(rewards) - min(rewards) == 0


def test_dynamic_sampling_and_gae_value_head(ray_cluster, tmp_path):
    from agentrl.distributed import slow_env

    slow_env.register()
    out = tmp_path / "run"
    train_ray(load_config(RayTrainConfig, None, overrides(out)))
    rows, episodes = read_jsonl(out / "metrics.jsonl"), read_jsonl(out / "episodes.jsonl")
    tasks = registry.tasks("debug/SlowEcho-v0")
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))
    refilled = 0
    for row in rows:
        step = row["step"] - 1
        mine = [e for e in episodes if e["info"]["step"] == step]
        groups: dict[str, list[dict]] = defaultdict(list)
        for e in mine:
            groups[e["group_id"]].append(e)
        assert all(len(g) == GROUP for g in groups.values())
        # Every round after the first samples fresh tasks exactly as `agentrl train` does.
        rng = refill_rng(SEED, step)
        for r in range(1, int(row["rollout/sampling_rounds"])):
            tag = f"r{r}"
            drawn = [gid.split(":", 1)[1] for gid in groups if gid.startswith(f"{step}{tag}:")]
            assert drawn and sorted(drawn) == sorted(t.id for t in rng.sample(tasks, len(drawn)))
            for e in (e for e in mine if e["info"].get("round") == tag):
                assert e["seed"] == episode_seed(SEED, step, e["info"]["sample"], tag)
            refilled += 1
        informative = [gid for gid, g in groups.items() if not constant(g)]
        assert row["rollout/kept_groups"] == min(TASKS, len(informative)) > 0
        assert row["rollout/dropped_groups"] == len(groups) - len(informative)
        assert row["rollout/episodes"] == len(mine) == GROUP * len(groups)
        assert row["learner/episodes_used"] == row["rollout/kept_groups"] * GROUP  # only the kept groups
        assert row["loss/value"] > 0  # the critic trained
    assert refilled >= 1, "no step needed a refill round; the test no longer exercises dynamic sampling"

    state = torch.load(out / "checkpoints" / f"step-{STEPS:06d}" / "main" / "learner.pt", weights_only=False)
    assert state["value_head"] is not None and state["version"] == STEPS  # the critic is checkpointed
